using System;
using System.Collections.Generic;
using System.Text;
using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.HostCalls;

/// <summary>
/// The .NET functions a guest may call by name through the <see cref="Hypercall.HostCall"/>
/// hypercall, with MessagePack-encoded arguments and results (docs/host-calls.md). Functions
/// take up to three parameters of the supported types (<see cref="long"/>, <see cref="ulong"/>,
/// <see cref="int"/>, <see cref="bool"/>, <see cref="string"/>, <c>byte[]</c>) and return one.
/// </summary>
/// <example>
/// <code>
/// var functions = new HostFunctionTable();
/// functions.Register("add", (long a, long b) => a + b);
/// functions.Register("greet", (string name) => $"hello, {name}");
/// functions.FunctionFailed = (name, ex) => Console.Error.WriteLine($"host function {name} failed: {ex.Message}");
/// functions.Attach(vm);                 // hypercall 6 now calls them; GetFeatures reports HostCall
/// </code>
/// </example>
/// <remarks>
/// Register every function first: the first <see cref="Attach"/> or <see cref="CreateDispatcher"/>
/// freezes the table, so that VMs running on other threads read it without locks. A table may be
/// attached to any number of VMs; each gets its own <see cref="HostCallDispatcher"/> and buffers.
/// A function runs on the calling VM's vCPU thread, while that vCPU waits: keep it short.
/// </remarks>
public sealed class HostFunctionTable
{
    /// <summary>The longest request a guest may send, in bytes; longer ones return <see cref="HypercallStatus.TooLarge"/>.</summary>
    public const int MaxRequestSize = 64 * 1024;

    /// <summary>The longest response the host writes; a guest capacity above it is treated as this much.</summary>
    public const int MaxResponseSize = 64 * 1024;

    /// <summary>The longest function name, in UTF-8 bytes.</summary>
    public const int MaxNameLength = 256;

    private readonly Dictionary<string, HostFunction> _functions = new(StringComparer.Ordinal);
    private bool _frozen;

    /// <summary>The names registered so far.</summary>
    public IReadOnlyCollection<string> Names => _functions.Keys;

    /// <summary>
    /// Called on the vCPU thread when a host function throws (the guest gets
    /// <see cref="HostCallStatus.HostFailure"/> and nil, and runs on). Null: failures are only counted
    /// by each dispatcher.
    /// </summary>
    public Action<string, Exception>? FunctionFailed { get; set; }

    /// <summary>Registers a function without parameters.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or taken, or a type is not supported.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen (already attached).</exception>
    public void Register<TResult>(string name, Func<TResult> function) =>
        Add(new HostFunction<TResult>(name, function), function, typeof(TResult));

    /// <summary>Registers a function of one parameter.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or taken, or a type is not supported.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen (already attached).</exception>
    public void Register<T1, TResult>(string name, Func<T1, TResult> function) =>
        Add(new HostFunction<T1, TResult>(name, function), function, typeof(TResult), typeof(T1));

    /// <summary>Registers a function of two parameters.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or taken, or a type is not supported.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen (already attached).</exception>
    public void Register<T1, T2, TResult>(string name, Func<T1, T2, TResult> function) =>
        Add(new HostFunction<T1, T2, TResult>(name, function), function, typeof(TResult), typeof(T1), typeof(T2));

    /// <summary>Registers a function of three parameters.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or taken, or a type is not supported.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen (already attached).</exception>
    public void Register<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, TResult> function) =>
        Add(new HostFunction<T1, T2, T3, TResult>(name, function), function, typeof(TResult), typeof(T1), typeof(T2), typeof(T3));

    /// <summary>
    /// Registers the <see cref="Hypercall.HostCall"/> handler on <paramref name="vm"/>, backed by a
    /// new dispatcher of this table, and sets <see cref="HypercallFeatures.HostCall"/> in its
    /// features. Freezes the table.
    /// </summary>
    /// <returns>The VM's dispatcher (its failure counters).</returns>
    /// <exception cref="ArgumentException">The VM already has a HostCall handler.</exception>
    public HostCallDispatcher Attach(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        HostCallDispatcher dispatcher = CreateDispatcher();
        vm.Hypercalls.Register(Hypercall.HostCall, dispatcher.HandleHypercall);
        vm.Features |= HypercallFeatures.HostCall;
        return dispatcher;
    }

    /// <summary>
    /// A dispatcher over this table with its own buffers, for one thread at a time: the hypercall
    /// handler uses one, and tests or other transports can call <see cref="HostCallDispatcher.Dispatch"/>
    /// on plain buffers. Freezes the table.
    /// </summary>
    public HostCallDispatcher CreateDispatcher()
    {
        _frozen = true;
        return new HostCallDispatcher(this, _functions.GetAlternateLookup<ReadOnlySpan<char>>());
    }

    private void Add(HostFunction entry, Delegate function, Type result, params Type[] parameters)
    {
        ArgumentNullException.ThrowIfNull(function);
        string name = entry.Name;
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_frozen)
            throw new InvalidOperationException($"cannot register '{name}': the table is attached to a VM already; register every function first");
        if (Encoding.UTF8.GetByteCount(name) > MaxNameLength)
            throw new ArgumentException($"the name '{name[..32]}...' is longer than {MaxNameLength} UTF-8 bytes", nameof(name));
        if (_functions.ContainsKey(name))
            throw new ArgumentException($"a host function '{name}' is registered already", nameof(name));
        foreach (Type type in (ReadOnlySpan<Type>)[result, .. parameters])
            if (!HostValueCodec.IsSupported(type))
                throw new ArgumentException($"host function '{name}': type {type.Name} is not supported (long, ulong, int, bool, string, byte[])", nameof(function));
        _functions.Add(name, entry);
    }
}
