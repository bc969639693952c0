using System.Runtime.CompilerServices;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>The driver side of one split ring, written by the test straight into guest memory.</summary>
internal sealed class DriverRing
{
    public const ulong DescBase = 0x1000;
    public const ulong AvailBase = 0x3000;
    public const ulong UsedBase = 0x4000;

    private readonly GuestMemory _memory;
    private ushort _availIdx;

    public DriverRing(GuestMemory memory, uint size, ulong descBase = DescBase, ulong availBase = AvailBase, ulong usedBase = UsedBase)
    {
        _memory = memory;
        Size = size;
        Desc = descBase;
        Avail = availBase;
        Used = usedBase;
    }

    public uint Size { get; }
    public ulong Desc { get; }
    public ulong Avail { get; }
    public ulong Used { get; }
    public ushort AvailIdx => _availIdx;

    public void SetDesc(uint index, ulong addr, uint len, ushort flags = 0, ushort next = 0) =>
        Write(Desc + 16UL * index, new VirtqDesc { Addr = addr, Len = len, Flags = flags, Next = next });

    /// <summary>Writes descriptor <paramref name="index"/> of an indirect table at <paramref name="table"/>.</summary>
    public void SetTableDesc(ulong table, uint index, ulong addr, uint len, ushort flags = 0, ushort next = 0) =>
        Write(table + 16UL * index, new VirtqDesc { Addr = addr, Len = len, Flags = flags, Next = next });

    /// <summary>Puts <paramref name="head"/> in the next available slot and publishes it.</summary>
    public void Publish(ushort head)
    {
        Write(Avail + VirtqLayout.AvailEntryOffset((uint)(_availIdx % Size)), head);
        _availIdx++;
        Write(Avail + 2, _availIdx);
    }

    /// <summary>Sets avail->idx to any value (a hostile driver).</summary>
    public void SetAvailIdx(ushort value)
    {
        _availIdx = value;
        Write(Avail + 2, value);
    }

    public void SetAvailFlags(ushort flags) => Write(Avail, flags);
    public void SetUsedEvent(ushort value) => Write(Avail + VirtqLayout.UsedEventOffset(Size), value);
    public ushort UsedFlags => Read<ushort>(Used);
    public ushort UsedIdx => Read<ushort>(Used + 2);
    public ushort AvailEvent => Read<ushort>(Used + VirtqLayout.AvailEventOffset(Size));
    public VirtqUsedElem UsedElem(uint slot) => Read<VirtqUsedElem>(Used + VirtqLayout.UsedEntryOffset(slot % Size));

    private void Write<T>(ulong address, T value) where T : unmanaged =>
        Assert.That(_memory.TryWrite(address, value), Is.True, $"test bug: 0x{address:x} outside guest memory");

    private T Read<T>(ulong address) where T : unmanaged
    {
        Assert.That(_memory.TryRead(address, out T value), Is.True);
        return value;
    }
}
