using System.Runtime.InteropServices;
using ParaVirt.Abi;
using ParaVirt.Abi.Legacy;
using ParaVirt.Abi.Virtio;

namespace ParaVirt.Core.Tests;

/// <summary>
/// Pins every number and layout of the ABI (docs/abi.md). A published number never changes: a
/// failure here means a guest built yesterday would break today.
/// </summary>
public class AbiTests
{
    [Test]
    public void VersionIsZeroPointTwo()
    {
        Assert.That(AbiVersion.Major, Is.EqualTo(0));
        Assert.That(AbiVersion.Minor, Is.EqualTo(2));
        Assert.That(AbiVersion.Current, Is.EqualTo(0x0000_0002));
    }

    [Test]
    public void HypervisorCpuidSignatureIsParaVirtHV()
    {
        byte[] signature = new byte[12];
        BitConverter.TryWriteBytes(signature.AsSpan(0), HypervisorCpuid.SignatureEbx);
        BitConverter.TryWriteBytes(signature.AsSpan(4), HypervisorCpuid.SignatureEcx);
        BitConverter.TryWriteBytes(signature.AsSpan(8), HypervisorCpuid.SignatureEdx);
        Assert.That(System.Text.Encoding.ASCII.GetString(signature), Is.EqualTo("ParaVirtHV\0\0"));
        Assert.That(HypervisorCpuid.SignatureLeaf, Is.EqualTo(0x4000_0000));
        Assert.That(HypervisorCpuid.VersionLeaf, Is.EqualTo(0x4000_0001));
    }

    [Test]
    public void LegacyPlatformPortsAndAtaCodesAreThePcOnes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LegacyPorts.PitChannel0, Is.EqualTo(0x40));
            Assert.That(LegacyPorts.PitControl, Is.EqualTo(0x43));
            Assert.That(LegacyPorts.RtcIndex, Is.EqualTo(0x70));
            Assert.That(LegacyPorts.Com1, Is.EqualTo(0x3F8));
            Assert.That(LegacyPorts.PitInputHz, Is.EqualTo(1_193_182));
            Assert.That(AtaRegisters.Data, Is.EqualTo(0x1F0));
            Assert.That(AtaRegisters.Command, Is.EqualTo(0x1F7));
            Assert.That(AtaRegisters.DeviceControl, Is.EqualTo(0x3F6));
            Assert.That(AtaCommand.ReadSectors, Is.EqualTo(0x20));
            Assert.That(AtaCommand.WriteSectors, Is.EqualTo(0x30));
            Assert.That(AtaCommand.FlushCache, Is.EqualTo(0xE7));
            Assert.That(AtaCommand.IdentifyDevice, Is.EqualTo(0xEC));
            Assert.That(AtaStatus.Busy | AtaStatus.Ready | AtaStatus.DataRequest | AtaStatus.Error, Is.EqualTo(0xC9));
        });
    }

    [Test]
    public void HypercallNumbersAreStable()
    {
        var expected = new Dictionary<Hypercall, uint>
        {
            [Hypercall.GetVersion] = 0, [Hypercall.GetFeatures] = 1, [Hypercall.Null] = 2,
            [Hypercall.ConsoleWrite] = 3, [Hypercall.Shutdown] = 4, [Hypercall.Multicall] = 5, [Hypercall.HostCall] = 6,
            [Hypercall.SchedOp] = 7, [Hypercall.SetTimer] = 8, [Hypercall.SetEventCallback] = 9,
            [Hypercall.VirtioDeviceCount] = 16, [Hypercall.VirtioDeviceInfo] = 17, [Hypercall.VirtioGetFeatures] = 18,
            [Hypercall.VirtioSetFeatures] = 19, [Hypercall.VirtioGetStatus] = 20, [Hypercall.VirtioSetStatus] = 21,
            [Hypercall.VirtioSetupQueue] = 22, [Hypercall.VirtioNotify] = 23, [Hypercall.VirtioReadConfig] = 24,
            [Hypercall.MmuUpdate] = 32, [Hypercall.MmuExtOp] = 33, [Hypercall.SetPageFaultHandler] = 34,
            [Hypercall.Limit] = 128,
        };
        foreach (Hypercall call in Enum.GetValues<Hypercall>())
        {
            Assert.That(expected.ContainsKey(call), Is.True, $"{call} = {(uint)call} is new: add it here and to docs/abi.md");
            Assert.That((uint)call, Is.EqualTo(expected[call]), call.ToString());
        }
        Assert.That(Enum.GetValues<Hypercall>().Select(c => (uint)c).Distinct().Count(), Is.EqualTo(Enum.GetValues<Hypercall>().Length), "no two calls share a number");
        Assert.That(Enum.GetValues<Hypercall>().Where(c => c != Hypercall.Limit).All(c => (uint)c < 127), Is.True, "127 is the exit stub's slot");
    }

    [Test]
    public void StatusCodesAreStable()
    {
        Assert.That((long)HypercallStatus.Ok, Is.EqualTo(0));
        Assert.That((long)HypercallStatus.UnknownHypercall, Is.EqualTo(-1));
        Assert.That((long)HypercallStatus.Denied, Is.EqualTo(-2));
        Assert.That((long)HypercallStatus.InvalidArgument, Is.EqualTo(-3));
        Assert.That((long)HypercallStatus.BadAddress, Is.EqualTo(-4));
        Assert.That((long)HypercallStatus.TooLarge, Is.EqualTo(-5));
        Assert.That((long)HypercallStatus.IoError, Is.EqualTo(-6));
        Assert.That((long)HypercallStatus.NotPermitted, Is.EqualTo(-7));
        Assert.That((long)HypercallStatus.NotFound, Is.EqualTo(-8));
        Assert.That((long)HypercallStatus.HostFailure, Is.EqualTo(-9));
        Assert.That(Enum.GetValues<HypercallStatus>(), Has.Length.EqualTo(10));
    }

    [Test]
    public void HostCallStatusesAreStable()
    {
        Assert.That((int)HostCallStatus.Ok, Is.EqualTo(0));
        Assert.That((int)HostCallStatus.UnknownFunction, Is.EqualTo(-8));
        Assert.That((int)HostCallStatus.HostFailure, Is.EqualTo(-9));
        Assert.That((int)HostCallStatus.MalformedRequest, Is.EqualTo(-32));
        Assert.That((int)HostCallStatus.WrongArgumentCount, Is.EqualTo(-33));
        Assert.That((int)HostCallStatus.WrongArgumentType, Is.EqualTo(-34));
        Assert.That(Enum.GetValues<HostCallStatus>(), Has.Length.EqualTo(6));
    }

    [Test]
    public void FeatureBitsAreStable()
    {
        Assert.That((ulong)HypercallFeatures.Console, Is.EqualTo(1));
        Assert.That((ulong)HypercallFeatures.Multicall, Is.EqualTo(2));
        Assert.That((ulong)HypercallFeatures.HostCall, Is.EqualTo(4));
        Assert.That((ulong)HypercallFeatures.Mmu, Is.EqualTo(8));
    }

    [Test]
    public void MmuAbiIsStable()
    {
        Assert.That(Marshal.SizeOf<MmuUpdateEntry>(), Is.EqualTo(16));
        Assert.That(Off<MmuUpdateEntry>(nameof(MmuUpdateEntry.Entry)), Is.EqualTo(0));
        Assert.That(Off<MmuUpdateEntry>(nameof(MmuUpdateEntry.Value)), Is.EqualTo(8));
        var commands = new Dictionary<MmuExtCommand, ulong>
        {
            [MmuExtCommand.PinL1Table] = 1, [MmuExtCommand.PinL2Table] = 2, [MmuExtCommand.PinL3Table] = 3, [MmuExtCommand.PinL4Table] = 4,
            [MmuExtCommand.Unpin] = 5, [MmuExtCommand.NewBasePointer] = 6, [MmuExtCommand.InvalidatePage] = 7, [MmuExtCommand.FlushTlb] = 8,
        };
        foreach (MmuExtCommand command in Enum.GetValues<MmuExtCommand>())
            Assert.That((ulong)command, Is.EqualTo(commands[command]), command.ToString());
        Assert.That(MmuLimits.MaxUpdatesPerCall, Is.EqualTo(512));
        Assert.That((MmuLimits.FirstGuestSlot, MmuLimits.GuestSlotLimit), Is.EqualTo((1, 256)));
        Assert.That(Off<SharedInfo>(nameof(SharedInfo.InPageFault)), Is.EqualTo(24));
    }

    [Test]
    public void PlatformConstantsAreStable()
    {
        Assert.That(HypercallPage.StubSize, Is.EqualTo(32));
        Assert.That(HypercallPage.StubCount, Is.EqualTo(128));
        Assert.That(HypercallPage.ExitStubOffset, Is.EqualTo(0xFE0));
        Assert.That(PlatformPorts.Hypercall, Is.EqualTo(0xE4));
        Assert.That(PlatformPorts.Trap, Is.EqualTo(0xE5));
        Assert.That(StartInfo.MagicValue, Is.EqualTo(BitConverter.ToUInt64("PVSTART\0"u8)));
        Assert.That((uint)StartFlags.Deprivileged, Is.EqualTo(1));
    }

    private static long Off<T>(string field) => Marshal.OffsetOf<T>(field).ToInt64();

    [Test]
    public void StartInfoLayoutIsStable()
    {
        Assert.That(Marshal.SizeOf<StartInfo>(), Is.EqualTo(128));
        var offsets = new (string Field, long Offset)[]
        {
            (nameof(StartInfo.Magic), 0), (nameof(StartInfo.AbiVersion), 8), (nameof(StartInfo.Flags), 12),
            (nameof(StartInfo.HypercallPage), 16), (nameof(StartInfo.MemorySize), 24), (nameof(StartInfo.HeapStart), 32),
            (nameof(StartInfo.HeapSize), 40), (nameof(StartInfo.StackTop), 48), (nameof(StartInfo.StackSize), 56),
            (nameof(StartInfo.CommandLine), 64), (nameof(StartInfo.CommandLineLength), 72), (nameof(StartInfo.Reserved0), 76),
            (nameof(StartInfo.ImageStart), 80), (nameof(StartInfo.ImageEnd), 88), (nameof(StartInfo.SharedInfo), 96),
            (nameof(StartInfo.Reserved1), 104), (nameof(StartInfo.Reserved2), 112), (nameof(StartInfo.Reserved3), 120),
        };
        foreach ((string field, long offset) in offsets)
            Assert.That(Off<StartInfo>(field), Is.EqualTo(offset), field);
    }

    [Test]
    public void MulticallEntryLayoutIsStable()
    {
        Assert.That(Marshal.SizeOf<MulticallEntry>(), Is.EqualTo(64));
        Assert.That(Off<MulticallEntry>(nameof(MulticallEntry.Number)), Is.EqualTo(0));
        Assert.That(Off<MulticallEntry>(nameof(MulticallEntry.Arg0)), Is.EqualTo(8));
        Assert.That(Off<MulticallEntry>(nameof(MulticallEntry.Arg5)), Is.EqualTo(48));
        Assert.That(Off<MulticallEntry>(nameof(MulticallEntry.Result)), Is.EqualTo(56));
    }

    [Test]
    public void VirtqueueLayoutsMatchTheVirtioSpecification()
    {
        Assert.That(Marshal.SizeOf<VirtqDesc>(), Is.EqualTo(16));
        Assert.That(Off<VirtqDesc>(nameof(VirtqDesc.Addr)), Is.EqualTo(0));
        Assert.That(Off<VirtqDesc>(nameof(VirtqDesc.Len)), Is.EqualTo(8));
        Assert.That(Off<VirtqDesc>(nameof(VirtqDesc.Flags)), Is.EqualTo(12));
        Assert.That(Off<VirtqDesc>(nameof(VirtqDesc.Next)), Is.EqualTo(14));
        Assert.That(Marshal.SizeOf<VirtqUsedElem>(), Is.EqualTo(8));
        Assert.That(Marshal.SizeOf<VirtioBlkReqHeader>(), Is.EqualTo(16));
    }
}
