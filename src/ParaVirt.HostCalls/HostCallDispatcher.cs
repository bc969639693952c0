using System;
using System.Collections.Generic;
using System.Buffers;
using System.Text.Unicode;
using MessagePack;
using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.HostCalls;

/// <summary>
/// Decodes one host-call request, runs the named function of a <see cref="HostFunctionTable"/>,
/// and encodes the response (docs/host-calls.md). Owns the buffers it works in, so it serves one
/// thread at a time: each VM gets its own from <see cref="HostFunctionTable.Attach"/>.
/// </summary>
/// <example>
/// <code>
/// HostCallDispatcher dispatcher = table.CreateDispatcher();
/// byte[] response = new byte[256];
/// long length = dispatcher.Dispatch(request, response);   // negative: a HypercallStatus
/// </code>
/// </example>
/// <remarks>
/// A request is untrusted: it is copied out of guest memory before it is decoded (the guest cannot
/// change it half-way), decoded only inside that copy, never skipped over recursively, and every
/// failure becomes a status; no exception leaves <see cref="Dispatch"/>. A call of integer and
/// boolean functions allocates nothing; a string or binary argument or result allocates the
/// string or array (and the function's own allocations).
/// </remarks>
public sealed class HostCallDispatcher
{
    private readonly HostFunctionTable _table;
    private readonly Dictionary<string, HostFunction>.AlternateLookup<ReadOnlySpan<char>> _functions;
    private readonly byte[] _request = new byte[HostFunctionTable.MaxRequestSize];
    private readonly BoundedBufferWriter _response = new(HostFunctionTable.MaxResponseSize);

    internal HostCallDispatcher(HostFunctionTable table, Dictionary<string, HostFunction>.AlternateLookup<ReadOnlySpan<char>> functions)
    {
        _table = table;
        _functions = functions;
    }

    /// <summary>Calls whose function threw.</summary>
    public long Failures { get; private set; }

    /// <summary>The exception of the last function that threw, or null.</summary>
    public Exception? LastFailure { get; private set; }

    /// <summary>
    /// Handles one request. Returns the number of response bytes written to the start of
    /// <paramref name="response"/>, or a negative <see cref="HypercallStatus"/>:
    /// <see cref="HypercallStatus.TooLarge"/> when the request is longer than
    /// <see cref="HostFunctionTable.MaxRequestSize"/> or the response does not fit
    /// <paramref name="response"/> (nothing is written then). Every other failure is a response
    /// whose status is a <see cref="HostCallStatus"/>.
    /// </summary>
    public long Dispatch(ReadOnlySpan<byte> request, Span<byte> response)
    {
        if (request.Length > HostFunctionTable.MaxRequestSize)
            return (long)HypercallStatus.TooLarge;
        request.CopyTo(_request);
        int limit = Math.Min(response.Length, HostFunctionTable.MaxResponseSize);
        HostCallStatus status;
        try
        {
            status = Call(new ReadOnlyMemory<byte>(_request, 0, request.Length), limit);
        }
        catch (ResponseTooLargeException)
        {
            return (long)HypercallStatus.TooLarge;
        }
        catch (Exception ex)
        {
            // Not the guest's doing (Call maps every decoding failure to a status): a host bug.
            // The guest gets HostFailure and runs on.
            RecordFailure("(host call dispatcher)", ex);
            status = HostCallStatus.HostFailure;
        }
        if (status != HostCallStatus.Ok)
        {
            try
            {
                WriteError(status, limit);
            }
            catch (ResponseTooLargeException)
            {
                return (long)HypercallStatus.TooLarge; // a capacity too small even for [status, nil]
            }
        }
        // Invariant: the writer never holds more than `limit` <= response.Length bytes.
        _response.Written.CopyTo(response);
        return _response.WrittenCount;
    }

    /// <summary>The <see cref="Hypercall.HostCall"/> handler: request at arg0 (arg1 bytes), response at arg2 (capacity arg3).</summary>
    internal long HandleHypercall(VirtualMachine vm, in HypercallArgs args)
    {
        if (args.Arg1 > HostFunctionTable.MaxRequestSize)
            return (long)HypercallStatus.TooLarge;
        if (!vm.Memory.TryGetSpan(args.Arg0, args.Arg1, out Span<byte> request))
            return (long)HypercallStatus.BadAddress;
        // A capacity above the most the host writes is clamped: only the part that can be written is checked.
        ulong capacity = Math.Min(args.Arg3, HostFunctionTable.MaxResponseSize);
        // The host writes the response: it must lie in guest-writable memory (docs/abi.md).
        if (!vm.WritableMemory.TryGetSpan(args.Arg2, capacity, out Span<byte> response))
            return (long)HypercallStatus.BadAddress;
        return Dispatch(request, response);
    }

    /// <summary>Decodes the request and runs the function, writing [0, result] on success.</summary>
    private HostCallStatus Call(ReadOnlyMemory<byte> request, int limit)
    {
        var reader = new MessagePackReader(request);
        HostFunction? function;
        try
        {
            if (reader.End || reader.NextMessagePackType != MessagePackType.Array || reader.ReadArrayHeader() != 2)
                return HostCallStatus.MalformedRequest;
            if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out ReadOnlySpan<byte> name))
                return HostCallStatus.MalformedRequest;
            if (name.Length > HostFunctionTable.MaxNameLength)
                return HostCallStatus.UnknownFunction; // no registered name is that long
            Span<char> chars = stackalloc char[HostFunctionTable.MaxNameLength];
            if (Utf8.ToUtf16(name, chars, out _, out int length, replaceInvalidSequences: false) != OperationStatus.Done)
                return HostCallStatus.MalformedRequest;
            if (!_functions.TryGetValue(chars[..length], out function))
                return HostCallStatus.UnknownFunction;
            if (reader.End || reader.NextMessagePackType != MessagePackType.Array)
                return HostCallStatus.MalformedRequest;
            if (reader.ReadArrayHeader() != function.ParameterCount)
                return HostCallStatus.WrongArgumentCount;
        }
        catch (Exception)
        {
            // The request is guest data: whatever the reader threw on (a truncated value, a
            // length past the end, a count that overflows) makes it malformed.
            return HostCallStatus.MalformedRequest;
        }

        _response.Reset(limit);
        var writer = new MessagePackWriter(_response);
        writer.WriteArrayHeader(2);
        writer.Write((int)HostCallStatus.Ok);
        // Decoding and call failures come back as a status; ResponseTooLargeException (and any host
        // bug while encoding) propagates to Dispatch.
        HostCallStatus status = function.Invoke(ref reader, ref writer, out Exception? failure);
        if (failure is not null)
            RecordFailure(function.Name, failure);
        if (status == HostCallStatus.Ok)
            writer.Flush();
        return status;
    }

    private void WriteError(HostCallStatus status, int limit)
    {
        _response.Reset(limit);
        var writer = new MessagePackWriter(_response);
        writer.WriteArrayHeader(2);
        writer.Write((int)status);
        writer.WriteNil();
        writer.Flush();
    }

    private void RecordFailure(string name, Exception failure)
    {
        Failures++;
        LastFailure = failure;
        try
        {
            _table.FunctionFailed?.Invoke(name, failure);
        }
        catch (Exception)
        {
            // The observer is the host's own code; its failure must not reach the guest either.
        }
    }
}
