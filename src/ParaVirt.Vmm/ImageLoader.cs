using System;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Image;

namespace ParaVirt.Vmm;

/// <summary>
/// Places a <see cref="PvImage"/> in a <see cref="VirtualMachine"/>: checks it fits in guest RAM,
/// copies its sections, zeroes bss, puts the heap right after the image (page aligned) and the
/// stack at the top of RAM, and prepares vCPU 0 to enter it
/// (<see cref="VirtualMachine.PrepareEntry"/>).
/// </summary>
/// <remarks><see cref="MachineBuilder.WithImage(PvImage, ulong)"/> calls this; call it directly only on a
/// bare machine you prepare yourself.</remarks>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithConsole(pipe.Writer).Build();
/// LoadedImage placed = ImageLoader.Load(machine.Vm, PvImageReader.ReadFile("Hello.pvimg"));
/// VmStopReason stop = machine.Run(TimeSpan.FromSeconds(10));
/// </code></example>
public static class ImageLoader
{
    /// <summary>The default stack size: 256 KiB at the top of guest RAM.</summary>
    public const ulong DefaultStackSize = 256 * 1024;

    /// <summary>The least heap an image is given; an image that leaves less does not fit.</summary>
    public const ulong MinimumHeapSize = 64 * 1024;

    /// <summary>Loads <paramref name="image"/> into <paramref name="vm"/> and prepares its entry.</summary>
    /// <exception cref="InvalidImageException">The image does not fit this VM's guest RAM.</exception>
    public static LoadedImage Load(VirtualMachine vm, PvImage image, ulong stackSize = DefaultStackSize)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(image);
        PlatformLayout layout = vm.Layout;
        ulong ramStart = layout.GuestRamStart;
        ulong ramEnd = layout.GuestRamEnd & ~(PvImageFormat.PageSize - 1);
        if (image.LoadAddress < ramStart || image.End > ramEnd || image.End < image.LoadAddress)
            throw new InvalidImageException($"the image needs guest memory [0x{image.LoadAddress:x}, 0x{image.End:x}) but guest RAM is [0x{ramStart:x}, 0x{ramEnd:x})");
        stackSize = (stackSize + PvImageFormat.PageSize - 1) & ~(PvImageFormat.PageSize - 1);
        ulong stackTop = ramEnd;
        ulong stackBottom = stackTop - Math.Min(stackSize, stackTop);
        ulong heapStart = image.End;
        if (stackBottom < heapStart || stackBottom - heapStart < MinimumHeapSize)
            throw new InvalidImageException($"the image ends at 0x{image.End:x}, leaving no room for a {MinimumHeapSize / 1024} KiB heap and a {stackSize / 1024} KiB stack below 0x{ramEnd:x}");
        ulong heapEnd = stackBottom;

        // Zero the whole image span first (bss, gaps), then copy the initialised bytes.
        if (!vm.WritableMemory.TryFill(image.LoadAddress, image.MemorySize, 0))
            throw new InvalidImageException($"guest memory [0x{image.LoadAddress:x}, 0x{image.End:x}) is not backed by RAM");
        foreach (PvSection section in image.Sections)
        {
            if (!vm.WritableMemory.TryWrite(section.Address, section.Data))
                throw new InvalidImageException($"section {section.Name} at 0x{section.Address:x} is not backed by RAM");
        }
        vm.PrepareEntry(image.Entry, stackTop, stackTop - stackBottom, heapStart, heapEnd, image.LoadAddress, image.End);
        return new LoadedImage(image.LoadAddress, image.End, heapStart, heapEnd, stackBottom, stackTop, image.Entry);
    }
}
