using System;
using System.Reflection;
using MessagePack;
using ParaVirt.Abi;
using ParaVirt.HostCalls;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The host-call dispatcher (<see cref="HostCallDispatcher.Dispatch"/>) over a table with every
/// supported type as every parameter and result, arities 0 to 3, a function that throws and one
/// whose result can exceed the response. Oracle: Dispatch never throws; a negative answer is
/// <see cref="HypercallStatus.TooLarge"/>; otherwise the response fits the capacity, nothing is
/// written past it, and it decodes with MessagePack-CSharp to exactly [status, result] with a
/// defined <see cref="HostCallStatus"/> (nil result unless Ok); the only function failure recorded
/// is the deliberate one (a failure of the dispatcher itself is a host bug).
/// </summary>
/// <remarks>Input: a 16-bit little-endian response capacity, then the request bytes.</remarks>
public sealed class HostCallTarget : IFuzzTarget
{
    private const int Guard = 16;
    private const byte GuardByte = 0xA5;

    private static readonly Type[] Types = [typeof(long), typeof(ulong), typeof(int), typeof(bool), typeof(string), typeof(byte[])];

    private readonly HostCallDispatcher _dispatcher;
    private readonly byte[] _response = new byte[HostFunctionTable.MaxResponseSize + Guard];

    /// <summary>Builds the table and its dispatcher once.</summary>
    public HostCallTarget()
    {
        _dispatcher = CreateTable().CreateDispatcher();
    }

    /// <inheritdoc/>
    public string Name => "hostcall";

    /// <summary>The function names registered, for seeds: f0_T, f1_T, f2_T_U (every pair), f3_T_U_V (rotations), fail, big, nil_string, nil_bin.</summary>
    public static HostFunctionTable CreateTable()
    {
        var table = new HostFunctionTable();
        MethodInfo add0 = Method(nameof(Add0)), add1 = Method(nameof(Add1)), add2 = Method(nameof(Add2)), add3 = Method(nameof(Add3));
        for (int i = 0; i < Types.Length; i++)
        {
            add0.MakeGenericMethod(Types[i]).Invoke(null, [table]);
            add1.MakeGenericMethod(Types[i]).Invoke(null, [table]);
            for (int j = 0; j < Types.Length; j++)
                add2.MakeGenericMethod(Types[i], Types[j]).Invoke(null, [table]);
            add3.MakeGenericMethod(Types[i], Types[(i + 1) % Types.Length], Types[(i + 2) % Types.Length]).Invoke(null, [table]);
        }
        table.Register<long>("fail", () => throw new DeliberateHostFunctionException());
        table.Register("big", (int n) => new string('x', Math.Clamp(n, 0, 100_000)));
        table.Register("nil_string", () => (string?)null);
        table.Register("nil_bin", () => (byte[]?)null);
        return table;
    }

    /// <summary>The short type name used in function names (i64, u64, i32, bool, str, bin).</summary>
    public static string ShortName(Type type) =>
        type == typeof(long) ? "i64" : type == typeof(ulong) ? "u64" : type == typeof(int) ? "i32" : type == typeof(bool) ? "bool" : type == typeof(string) ? "str" : "bin";

    private static MethodInfo Method(string name) => typeof(HostCallTarget).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!;

    private static T Sample<T>()
    {
        object value = typeof(T) == typeof(long) ? -5L : typeof(T) == typeof(ulong) ? ulong.MaxValue : typeof(T) == typeof(int) ? 7
            : typeof(T) == typeof(bool) ? true : typeof(T) == typeof(string) ? "héllo" : new byte[] { 1, 2, 3 };
        return (T)value;
    }

    private static void Add0<T>(HostFunctionTable table) => table.Register($"f0_{ShortName(typeof(T))}", Sample<T>);

    private static void Add1<T>(HostFunctionTable table) => table.Register($"f1_{ShortName(typeof(T))}", (T a) => a);

    private static void Add2<T, TU>(HostFunctionTable table) =>
        table.Register($"f2_{ShortName(typeof(T))}_{ShortName(typeof(TU))}", (T a, TU b) => b);

    private static void Add3<T, TU, TV>(HostFunctionTable table) =>
        table.Register($"f3_{ShortName(typeof(T))}_{ShortName(typeof(TU))}_{ShortName(typeof(TV))}", (T a, TU b, TV c) => a);

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInput(input);
        int capacity = reader.U16();
        ReadOnlySpan<byte> request = reader.Rest();
        Span<byte> buffer = _response.AsSpan(0, capacity + Guard);
        buffer.Fill(GuardByte);

        long length;
        try
        {
            length = _dispatcher.Dispatch(request, buffer[..capacity]);
        }
        catch (Exception ex)
        {
            throw new OracleViolationException($"HostCallDispatcher.Dispatch threw {ex.GetType().Name}: {ex.Message}", ex);
        }
        foreach (byte b in buffer[capacity..])
            OracleViolationException.Check(b == GuardByte, $"the dispatcher wrote past the {capacity}-byte response capacity");
        Exception? failure = _dispatcher.LastFailure;
        OracleViolationException.Check(failure is null or DeliberateHostFunctionException,
            $"the dispatcher recorded a host failure that is not the deliberate one: {failure}");

        if (length < 0)
        {
            OracleViolationException.Check(length == (long)HypercallStatus.TooLarge, $"Dispatch returned {length}, not a response length or TooLarge");
            return;
        }
        OracleViolationException.Check(length <= capacity, $"Dispatch returned {length} bytes for a capacity of {capacity}");
        CheckResponse(_response.AsMemory(0, (int)length));
    }

    private static void CheckResponse(ReadOnlyMemory<byte> response)
    {
        var reader = new MessagePackReader(response);
        try
        {
            OracleViolationException.Check(reader.ReadArrayHeader() == 2, "the response is not a 2-element array");
            int status = reader.ReadInt32();
            OracleViolationException.Check(Enum.IsDefined((HostCallStatus)status), $"the response status {status} is not a HostCallStatus");
            if (status != (int)HostCallStatus.Ok)
                OracleViolationException.Check(reader.TryReadNil(), $"an error response (status {status}) carries a result");
            else
                reader.Skip();
            OracleViolationException.Check(reader.End, "bytes follow the [status, result] response");
        }
        catch (MessagePackSerializationException ex)
        {
            throw new OracleViolationException($"the response does not decode: {ex.Message}", ex);
        }
        catch (System.IO.EndOfStreamException ex)
        {
            throw new OracleViolationException($"the response is truncated: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    /// <summary>The exception the "fail" function throws on purpose.</summary>
    public sealed class DeliberateHostFunctionException : Exception
    {
        /// <summary>Creates it.</summary>
        public DeliberateHostFunctionException() : base("the fuzz table's fail function throws on purpose")
        {
        }
    }
}
