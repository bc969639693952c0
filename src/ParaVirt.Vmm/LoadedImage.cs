namespace ParaVirt.Vmm;

/// <summary>Where <see cref="ImageLoader"/> placed an image, its heap and its stack in guest memory.</summary>
/// <param name="ImageStart">First byte of the image.</param>
/// <param name="ImageEnd">One past the image's last byte (bss included).</param>
/// <param name="HeapStart">First byte of the heap (page aligned, right after the image).</param>
/// <param name="HeapEnd">One past the heap's last byte (the bottom of the stack).</param>
/// <param name="StackBottom">Lowest byte of the stack.</param>
/// <param name="StackTop">Initial stack pointer (the top of guest RAM).</param>
/// <param name="Entry">The entry point.</param>
public readonly record struct LoadedImage(ulong ImageStart, ulong ImageEnd, ulong HeapStart, ulong HeapEnd, ulong StackBottom, ulong StackTop, ulong Entry);
