using System;
using System.Collections.Generic;
using System.Threading;

namespace ParaVirt.Core.Bus;

/// <summary>
/// An address space (port I/O or MMIO) on which devices claim ranges. Lookup is a binary search
/// over a sorted array: no allocation per access. An access no device claims reads as all ones and
/// its writes are dropped, as on a PC's open bus; such accesses are counted.
/// </summary>
/// <example>
/// <code>
/// var bus = new IoBus("pio");
/// bus.Register(0x3F8, 8, uart);          // COM1
/// bus.Register(0x3FC, 4, other);         // throws: overlaps COM1
/// </code>
/// </example>
public sealed class IoBus
{
    private readonly object _gate = new();
    // Sorted by Base, non-overlapping. Replaced wholesale on registration (copy-on-write), so the
    // vCPU thread reads it without a lock.
    private Entry[] _entries = [];
    private long _unclaimedReads, _unclaimedWrites;

    /// <summary>Creates an empty bus.</summary>
    public IoBus(string name) => Name = name;

    /// <summary>The bus name ("pio", "mmio").</summary>
    public string Name { get; }

    /// <summary>Reads that no device claimed.</summary>
    public long UnclaimedReads => Interlocked.Read(ref _unclaimedReads);

    /// <summary>Writes that no device claimed.</summary>
    public long UnclaimedWrites => Interlocked.Read(ref _unclaimedWrites);

    /// <summary>The claimed ranges, sorted.</summary>
    public IReadOnlyList<(ulong Base, ulong Length, IBusDevice Device)> Ranges
    {
        get
        {
            var list = new List<(ulong, ulong, IBusDevice)>();
            foreach (Entry e in Volatile.Read(ref _entries))
                list.Add((e.Base, e.Length, e.Device));
            return list;
        }
    }

    /// <summary>Claims [<paramref name="baseAddress"/>, +<paramref name="length"/>) for <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The range is empty, wraps, or overlaps a claimed range.</exception>
    public void Register(ulong baseAddress, ulong length, IBusDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (length == 0 || baseAddress + length < baseAddress)
            throw new ArgumentException($"{Name}: range 0x{baseAddress:x}+0x{length:x} is empty or wraps");
        lock (_gate)
        {
            Entry[] old = _entries;
            foreach (Entry e in old)
            {
                if (baseAddress < e.Base + e.Length && e.Base < baseAddress + length)
                    throw new ArgumentException(
                        $"{Name}: {device.Name} at 0x{baseAddress:x}+0x{length:x} overlaps {e.Device.Name} at 0x{e.Base:x}+0x{e.Length:x}");
            }
            var next = new Entry[old.Length + 1];
            int i = 0;
            while (i < old.Length && old[i].Base < baseAddress)
            {
                next[i] = old[i];
                i++;
            }
            next[i] = new Entry(baseAddress, length, device);
            Array.Copy(old, i, next, i + 1, old.Length - i);
            Volatile.Write(ref _entries, next);
        }
    }

    /// <summary>Finds the device claiming <paramref name="address"/> for an access of <paramref name="size"/> bytes.</summary>
    public IBusDevice? Resolve(ulong address, int size, out ulong offset)
    {
        Entry[] entries = Volatile.Read(ref _entries);
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly Entry e = ref entries[mid];
            if (address < e.Base)
                hi = mid - 1;
            else if (address - e.Base >= e.Length)
                lo = mid + 1;
            else
            {
                offset = address - e.Base;
                // The whole access must fit the claim; a straddling access goes nowhere.
                if ((ulong)size > e.Length - offset)
                    break;
                return e.Device;
            }
        }
        offset = 0;
        return null;
    }

    /// <summary>Dispatches a read. Unclaimed: fills all ones and returns false.</summary>
    public bool Read(ulong address, Span<byte> data)
    {
        IBusDevice? device = Resolve(address, data.Length, out ulong offset);
        if (device is null)
        {
            data.Fill(0xFF);
            Interlocked.Increment(ref _unclaimedReads);
            return false;
        }
        device.Read(offset, data);
        return true;
    }

    /// <summary>Dispatches a write. Unclaimed: dropped and returns false.</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> data)
    {
        IBusDevice? device = Resolve(address, data.Length, out ulong offset);
        if (device is null)
        {
            Interlocked.Increment(ref _unclaimedWrites);
            return false;
        }
        device.Write(offset, data);
        return true;
    }

    private readonly record struct Entry(ulong Base, ulong Length, IBusDevice Device);
}
