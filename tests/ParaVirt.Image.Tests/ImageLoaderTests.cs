using System.Linq;
using ParaVirt.Abi;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Image.Tests;

/// <summary>Placing images in a VM: where the sections, heap and stack go, and what does not fit.</summary>
public class ImageLoaderTests : KvmTestBase
{
    [Test]
    public void HelloIsPlacedWithHeapAfterItAndStackAtTheTop()
    {
        PvImage image = PvImageReader.ReadFile(Guests.HelloImage);
        using VirtualMachine vm = CreateVm();
        // Dirty the image's span so the test sees that the loader zeroes bss.
        Assert.That(vm.Memory.TryFill(image.LoadAddress, image.MemorySize, 0xAA), Is.True);

        LoadedImage placed = ImageLoader.Load(vm, image);

        foreach (PvSection s in image.Sections)
        {
            var bytes = new byte[s.MemorySize];
            Assert.That(vm.Memory.TryRead(s.Address, bytes), Is.True);
            Assert.That(bytes.Take(s.Data.Length), Is.EqualTo(s.Data), s.Name);
            Assert.That(bytes.Skip(s.Data.Length).All(b => b == 0), Is.True, $"{s.Name} zero-filled past its data");
        }
        Assert.That(placed.HeapStart, Is.EqualTo(image.End));
        Assert.That(placed.HeapStart % 4096, Is.Zero);
        Assert.That(placed.StackTop, Is.EqualTo(vm.Layout.GuestRamEnd));
        Assert.That(placed.StackTop - placed.StackBottom, Is.EqualTo(ImageLoader.DefaultStackSize));
        Assert.That(placed.HeapEnd, Is.EqualTo(placed.StackBottom));

        Assert.That(vm.Memory.TryRead(vm.Layout.StartInfoPage, out StartInfo info), Is.True);
        Assert.That(info.Magic, Is.EqualTo(StartInfo.MagicValue));
        Assert.That(info.HeapStart, Is.EqualTo(placed.HeapStart));
        Assert.That(info.HeapSize, Is.EqualTo(placed.HeapEnd - placed.HeapStart));
        Assert.That(info.StackTop, Is.EqualTo(placed.StackTop));
        Assert.That(info.ImageStart, Is.EqualTo(image.LoadAddress));
        Assert.That(info.ImageEnd, Is.EqualTo(image.End));
        Assert.That(vm.Registers.Rip, Is.EqualTo(image.Entry));
    }

    [Test]
    public void LoadAddressBelowGuestRamIsRejected()
    {
        using VirtualMachine vm = CreateVm();
        PvImage hello = PvImageReader.ReadFile(Guests.HelloImage);
        PvImage low = Relocate(hello, 0x100000);
        var ex = Assert.Throws<InvalidImageException>(() => ImageLoader.Load(vm, low));
        Assert.That(ex!.Message, Does.StartWith($"the image needs guest memory [0x100000, 0x{0x100000 + hello.MemorySize:x}) but guest RAM is [0x{vm.Layout.GuestRamStart:x},"));
    }

    [Test]
    public void ImageBeyondTheEndOfRamIsRejected()
    {
        using VirtualMachine vm = CreateVm();
        PvImage high = Relocate(PvImageReader.ReadFile(Guests.HelloImage), vm.Layout.GuestRamEnd);
        var ex = Assert.Throws<InvalidImageException>(() => ImageLoader.Load(vm, high));
        Assert.That(ex!.Message, Does.Contain("but guest RAM is"));
    }

    [Test]
    public void ImageLeavingNoRoomForHeapAndStackIsRejected()
    {
        using VirtualMachine vm = CreateVm();
        PvImage hello = PvImageReader.ReadFile(Guests.HelloImage);
        ulong nearTop = (vm.Layout.GuestRamEnd - hello.MemorySize - ImageLoader.DefaultStackSize) & ~0xFFFUL;
        var ex = Assert.Throws<InvalidImageException>(() => ImageLoader.Load(vm, Relocate(hello, nearTop)));
        Assert.That(ex!.Message, Does.Contain("leaving no room for a 64 KiB heap and a 256 KiB stack"));
    }

    /// <summary>The same sections moved as a block (addresses only: enough for placement checks).</summary>
    private static PvImage Relocate(PvImage image, ulong load)
    {
        var sections = image.Sections.Select(s => new PvSection(s.Name, s.Address - image.LoadAddress + load, s.MemorySize, s.Permissions, s.Data)).ToList();
        return new PvImage(image.AbiVersion, image.Entry - image.LoadAddress + load, load, image.MemorySize, sections);
    }
}
