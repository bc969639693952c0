using System;
using System.Collections.Generic;
using System.Diagnostics;
using ParaVirt.Abi;

namespace ParaVirt.Core.Hypercalls;

/// <summary>
/// The numbered hypercall table of one VM: handlers by number with a name, a per-VM allow-list,
/// and counters per number (calls, total time). Dispatch is an array index: no allocation.
/// </summary>
/// <example>
/// <code>
/// vm.Hypercalls.Register(64, "answer", (VirtualMachine vm, in HypercallArgs a) => 42);
/// vm.Hypercalls.Deny(Hypercall.HostCall);            // this VM may not call host functions
/// long calls = vm.Hypercalls.GetStatistics(64).Calls;
/// </code>
/// </example>
public sealed class HypercallTable
{
    /// <summary>Numbers this table can hold: <see cref="Hypercall.Limit"/>.</summary>
    public const int Capacity = (int)Hypercall.Limit;

    private readonly HypercallHandler?[] _handlers = new HypercallHandler?[Capacity];
    private readonly string?[] _names = new string?[Capacity];
    private readonly bool[] _allowed = new bool[Capacity];
    private readonly long[] _calls = new long[Capacity];
    private readonly long[] _ticks = new long[Capacity];
    private long _unknown, _denied;

    /// <summary>Registers <paramref name="handler"/> under <paramref name="number"/>; allowed by default.</summary>
    /// <exception cref="ArgumentException">The number is taken or out of range.</exception>
    public void Register(uint number, string name, HypercallHandler handler)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(handler);
        if (number >= Capacity)
            throw new ArgumentOutOfRangeException(nameof(number), number, $"hypercall numbers end at {Capacity - 1}");
        if (_handlers[number] is not null)
            throw new ArgumentException($"hypercall {number} is already registered as '{_names[number]}'", nameof(number));
        _names[number] = name;
        _handlers[number] = handler;
        _allowed[number] = true;
    }

    /// <summary>Registers a handler for an ABI-defined number, named after it.</summary>
    public void Register(Hypercall number, HypercallHandler handler) => Register((uint)number, number.ToString(), handler);

    /// <summary>Refuses <paramref name="number"/> to this VM: calls return <see cref="HypercallStatus.Denied"/>.</summary>
    public void Deny(uint number)
    {
        if (number < Capacity)
            _allowed[number] = false;
    }

    /// <summary>Refuses an ABI-defined number.</summary>
    public void Deny(Hypercall number) => Deny((uint)number);

    /// <summary>Grants <paramref name="number"/> again.</summary>
    public void Allow(uint number)
    {
        if (number < Capacity)
            _allowed[number] = true;
    }

    /// <summary>Makes the allow-list exactly <paramref name="numbers"/>.</summary>
    public void AllowOnly(IEnumerable<uint> numbers)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        Array.Clear(_allowed);
        foreach (uint n in numbers)
            Allow(n);
    }

    /// <summary>Whether the VM may call <paramref name="number"/>.</summary>
    public bool IsAllowed(uint number) => number < Capacity && _allowed[number];

    /// <summary>The name of a registered number, or null.</summary>
    public string? NameOf(uint number) => number < Capacity ? _names[number] : null;

    /// <summary>Calls with a number nobody registered.</summary>
    public long UnknownCalls => _unknown;

    /// <summary>Calls refused by the allow-list.</summary>
    public long DeniedCalls => _denied;

    /// <summary>
    /// Dispatches hypercall <paramref name="number"/>. Unknown numbers return
    /// <see cref="HypercallStatus.UnknownHypercall"/> and the guest continues; numbers outside the
    /// allow-list return <see cref="HypercallStatus.Denied"/>.
    /// </summary>
    public long Dispatch(Machine.VirtualMachine vm, ulong number, in HypercallArgs args)
    {
        // Invariant: number is guest-controlled; it indexes the arrays only after the range check.
        if (number >= Capacity || _handlers[number] is not { } handler)
        {
            _unknown++;
            return (long)HypercallStatus.UnknownHypercall;
        }
        if (!_allowed[number])
        {
            _denied++;
            return (long)HypercallStatus.Denied;
        }
        long start = Stopwatch.GetTimestamp();
        long result = handler(vm, args);
        _ticks[number] += Stopwatch.GetTimestamp() - start;
        _calls[number]++;
        return result;
    }

    /// <summary>Counters of one number.</summary>
    public HypercallStatistics GetStatistics(uint number) =>
        number < Capacity ? new(number, _names[number] ?? $"#{number}", _calls[number], Stopwatch.GetElapsedTime(0, _ticks[number])) : default;

    /// <summary>Counters of every number called at least once.</summary>
    public IReadOnlyList<HypercallStatistics> GetStatistics()
    {
        var list = new List<HypercallStatistics>();
        for (uint n = 0; n < Capacity; n++)
            if (_calls[n] > 0)
                list.Add(GetStatistics(n));
        return list;
    }

    /// <summary>Zeroes every counter.</summary>
    public void ResetStatistics()
    {
        Array.Clear(_calls);
        Array.Clear(_ticks);
        _unknown = 0;
        _denied = 0;
    }
}

/// <summary>Counters of one hypercall number.</summary>
/// <param name="Number">The number.</param>
/// <param name="Name">Its registered name.</param>
/// <param name="Calls">Completed calls.</param>
/// <param name="TotalTime">Time spent in the handler, summed.</param>
public readonly record struct HypercallStatistics(uint Number, string Name, long Calls, TimeSpan TotalTime);
