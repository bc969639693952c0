using ParaVirt.Abi;
using System;
using MessagePack;

namespace ParaVirt.HostCalls;

// The generic host functions, one class per arity. Each reads its arguments in order with
// HostValueCodec, stops at the first bad one, and calls the delegate only with all of them.
// The request must end with the last argument; that is checked before the call, so a function
// never runs for a request that is then rejected. Exceptions thrown by the delegate are caught here and handed back as the failure, so that a
// decoding exception (malformed request) and a function's exception are never confused.

internal sealed class HostFunction<TResult>(string name, Func<TResult> function) : HostFunction(name, 0)
{
    public override HostCallStatus Invoke(ref MessagePackReader arguments, ref MessagePackWriter result, out Exception? failure)
    {
        failure = null;
        if (!arguments.End)
            return HostCallStatus.MalformedRequest;
        TResult value;
        try
        {
            value = function();
        }
        catch (Exception ex)
        {
            failure = ex;
            return HostCallStatus.HostFailure;
        }
        HostValueCodec.Write(ref result, value);
        return HostCallStatus.Ok;
    }
}

internal sealed class HostFunction<T1, TResult>(string name, Func<T1, TResult> function) : HostFunction(name, 1)
{
    public override HostCallStatus Invoke(ref MessagePackReader arguments, ref MessagePackWriter result, out Exception? failure)
    {
        failure = null;
        T1 a1;
        try
        {
            HostCallStatus status = HostValueCodec.TryRead(ref arguments, out a1);
            if (status != HostCallStatus.Ok)
                return status;
            if (!arguments.End)
                return HostCallStatus.MalformedRequest;
        }
        catch (Exception ex)
        {
            return DecodingFailed(ex);
        }
        TResult value;
        try
        {
            value = function(a1);
        }
        catch (Exception ex)
        {
            failure = ex;
            return HostCallStatus.HostFailure;
        }
        HostValueCodec.Write(ref result, value);
        return HostCallStatus.Ok;
    }
}

internal sealed class HostFunction<T1, T2, TResult>(string name, Func<T1, T2, TResult> function) : HostFunction(name, 2)
{
    public override HostCallStatus Invoke(ref MessagePackReader arguments, ref MessagePackWriter result, out Exception? failure)
    {
        failure = null;
        T1 a1;
        T2 a2;
        try
        {
            HostCallStatus status = HostValueCodec.TryRead(ref arguments, out a1);
            if (status != HostCallStatus.Ok)
                return status;
            status = HostValueCodec.TryRead(ref arguments, out a2);
            if (status != HostCallStatus.Ok)
                return status;
            if (!arguments.End)
                return HostCallStatus.MalformedRequest;
        }
        catch (Exception ex)
        {
            return DecodingFailed(ex);
        }
        TResult value;
        try
        {
            value = function(a1, a2);
        }
        catch (Exception ex)
        {
            failure = ex;
            return HostCallStatus.HostFailure;
        }
        HostValueCodec.Write(ref result, value);
        return HostCallStatus.Ok;
    }
}

internal sealed class HostFunction<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, TResult> function) : HostFunction(name, 3)
{
    public override HostCallStatus Invoke(ref MessagePackReader arguments, ref MessagePackWriter result, out Exception? failure)
    {
        failure = null;
        T1 a1;
        T2 a2;
        T3 a3;
        try
        {
            HostCallStatus status = HostValueCodec.TryRead(ref arguments, out a1);
            if (status != HostCallStatus.Ok)
                return status;
            status = HostValueCodec.TryRead(ref arguments, out a2);
            if (status != HostCallStatus.Ok)
                return status;
            status = HostValueCodec.TryRead(ref arguments, out a3);
            if (status != HostCallStatus.Ok)
                return status;
            if (!arguments.End)
                return HostCallStatus.MalformedRequest;
        }
        catch (Exception ex)
        {
            return DecodingFailed(ex);
        }
        TResult value;
        try
        {
            value = function(a1, a2, a3);
        }
        catch (Exception ex)
        {
            failure = ex;
            return HostCallStatus.HostFailure;
        }
        HostValueCodec.Write(ref result, value);
        return HostCallStatus.Ok;
    }
}
