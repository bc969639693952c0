using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// The para flavour's batch: page-table updates and MMU commands queued in guest memory, sent in
/// one exit by <see cref="Commit"/> (one <see cref="Hypercall.MmuUpdate"/>, one
/// <see cref="Hypercall.MmuExtOp"/>, or a <see cref="Hypercall.Multicall"/> of several, in the order
/// they were queued). Up to <see cref="UpdateCapacity"/> updates and <see cref="CallCapacity"/>
/// calls are queued; a full buffer commits by itself.
/// </summary>
/// <example><code>
/// ParaMmuBatch.QueueUpdate(pte, frame | 7);
/// ParaMmuBatch.QueueExt(MmuExtCommand.NewBasePointer, root);
/// long status = ParaMmuBatch.Commit();      // one exit for both
/// </code></example>
public static unsafe class ParaMmuBatch
{
    /// <summary>Updates one batch holds (one MmuUpdate call's budget).</summary>
    public const int UpdateCapacity = MmuLimits.MaxUpdatesPerCall;

    /// <summary>Calls one batch holds.</summary>
    public const int CallCapacity = 64;

    private static MmuUpdateEntry* s_updates;
    private static MulticallEntry* s_calls;
    private static int s_updateCount, s_runStart, s_callCount;
    private static long s_commits, s_lastError;

    /// <summary>Exits spent committing (hypercalls made by <see cref="Commit"/>).</summary>
    public static long Commits => s_commits;

    /// <summary>The first error the last failed commit met (a <see cref="HypercallStatus"/>), 0 if none.</summary>
    public static long LastError => s_lastError;

    /// <summary>Queued items not sent yet.</summary>
    public static int Pending => s_updateCount + s_callCount;

    private static void EnsureBuffers()
    {
        if (s_updates != null)
            return;
        s_updates = (MmuUpdateEntry*)BumpAllocator.Allocate((ulong)(UpdateCapacity * sizeof(MmuUpdateEntry)));
        s_calls = (MulticallEntry*)BumpAllocator.Allocate((ulong)(CallCapacity * sizeof(MulticallEntry)));
    }

    /// <summary>Queues "write <paramref name="value"/> into the entry at guest-physical <paramref name="entry"/>".</summary>
    public static void QueueUpdate(ulong entry, ulong value)
    {
        EnsureBuffers();
        if (s_updateCount == UpdateCapacity || s_callCount >= CallCapacity - 1)
            Commit();
        s_updates[s_updateCount].Entry = entry;
        s_updates[s_updateCount].Value = value;
        s_updateCount++;
    }

    /// <summary>Queues one MMU command.</summary>
    public static void QueueExt(MmuExtCommand command, ulong argument)
    {
        EnsureBuffers();
        CloseRun();
        if (s_callCount == CallCapacity)
            Commit();
        MulticallEntry* call = &s_calls[s_callCount++];
        *call = default;
        call->Number = (ulong)Hypercall.MmuExtOp;
        call->Arg0 = (ulong)command;
        call->Arg1 = argument;
    }

    /// <summary>Turns the updates queued since the last command into one MmuUpdate call.</summary>
    private static void CloseRun()
    {
        if (s_updateCount == s_runStart)
            return;
        MulticallEntry* call = &s_calls[s_callCount++];
        *call = default;
        call->Number = (ulong)Hypercall.MmuUpdate;
        call->Arg0 = (ulong)&s_updates[s_runStart];
        call->Arg1 = (ulong)(s_updateCount - s_runStart);
        s_runStart = s_updateCount;
    }

    /// <summary>Sends everything queued; returns 0, or the first error status (also in <see cref="LastError"/>).</summary>
    public static long Commit()
    {
        if (s_updates == null)
            return 0;
        CloseRun();
        int calls = s_callCount;
        s_callCount = s_updateCount = s_runStart = 0;
        if (calls == 0)
            return 0;
        long error = 0;
        s_commits++;
        if (calls == 1)
            s_calls[0].Result = RawHypercall.Call6((Hypercall)s_calls[0].Number, s_calls[0].Arg0, s_calls[0].Arg1, s_calls[0].Arg2, 0, 0, 0);
        else
            RawHypercall.Call(Hypercall.Multicall, (ulong)s_calls, (ulong)calls);
        for (int i = 0; i < calls && error == 0; i++)
        {
            MulticallEntry* call = &s_calls[i];
            long result = call->Result;
            if (result < 0)
                error = result;
            else if (call->Number == (ulong)Hypercall.MmuUpdate)
            {
                // The host's per-call budget may have ended early: continue from where it stopped.
                ulong done = (ulong)result;
                while (done < call->Arg1)
                {
                    s_commits++;
                    long more = RawHypercall.Call(Hypercall.MmuUpdate, call->Arg0 + done * 16, call->Arg1 - done, 0);
                    if (more <= 0)
                    {
                        error = more < 0 ? more : (long)HypercallStatus.HostFailure;
                        break;
                    }
                    done += (ulong)more;
                }
            }
        }
        s_lastError = error;
        return error;
    }
}
