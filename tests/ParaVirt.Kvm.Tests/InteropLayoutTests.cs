using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using ParaVirt.Core.Cpu;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm.Tests;

/// <summary>
/// Every struct offset and ioctl number of the bindings, checked against the kernel's own
/// &lt;linux/kvm.h&gt; by compiling a probe with the system C compiler.
/// </summary>
public class InteropLayoutTests
{
    private static Dictionary<string, long>? s_header;

    private static Dictionary<string, long> Header()
    {
        if (s_header is not null)
            return s_header;
        if (!File.Exists("/usr/include/linux/kvm.h"))
            Assert.Ignore("no <linux/kvm.h> on this machine (package linux-libc-dev) to compare against");
        string? cc = new[] { "/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang" }.FirstOrDefault(File.Exists);
        if (cc is null)
            Assert.Ignore("no C compiler on this machine to compile the <linux/kvm.h> probe");
        string dir = Directory.CreateTempSubdirectory("kvmprobe").FullName;
        string source = Path.Combine(dir, "probe.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <stddef.h>
            #include <linux/kvm.h>
            #define O(name, type, field) printf(#name " %zu\n", offsetof(type, field))
            #define S(name, type) printf(#name " %zu\n", sizeof(type))
            #define V(name, value) printf(#name " %lu\n", (unsigned long)(value))
            int main(void) {
              O(run.immediate_exit, struct kvm_run, immediate_exit);
              O(run.exit_reason, struct kvm_run, exit_reason);
              O(run.if_flag, struct kvm_run, if_flag);
              O(run.io.direction, struct kvm_run, io.direction);
              O(run.io.size, struct kvm_run, io.size);
              O(run.io.port, struct kvm_run, io.port);
              O(run.io.count, struct kvm_run, io.count);
              O(run.io.data_offset, struct kvm_run, io.data_offset);
              O(run.mmio.phys_addr, struct kvm_run, mmio.phys_addr);
              O(run.mmio.data, struct kvm_run, mmio.data);
              O(run.mmio.len, struct kvm_run, mmio.len);
              O(run.mmio.is_write, struct kvm_run, mmio.is_write);
              O(run.fail_entry, struct kvm_run, fail_entry.hardware_entry_failure_reason);
              O(run.internal.suberror, struct kvm_run, internal.suberror);
              O(run.kvm_valid_regs, struct kvm_run, kvm_valid_regs);
              O(run.kvm_dirty_regs, struct kvm_run, kvm_dirty_regs);
              O(run.s.regs, struct kvm_run, s.regs);
              S(regs, struct kvm_regs); O(regs.rip, struct kvm_regs, rip); O(regs.r10, struct kvm_regs, r10); O(regs.rflags, struct kvm_regs, rflags);
              S(sregs, struct kvm_sregs); O(sregs.tr, struct kvm_sregs, tr); O(sregs.gdt, struct kvm_sregs, gdt); O(sregs.idt, struct kvm_sregs, idt);
              O(sregs.cr0, struct kvm_sregs, cr0); O(sregs.cr2, struct kvm_sregs, cr2); O(sregs.efer, struct kvm_sregs, efer); O(sregs.interrupt_bitmap, struct kvm_sregs, interrupt_bitmap);
              S(segment, struct kvm_segment); O(segment.selector, struct kvm_segment, selector); O(segment.type, struct kvm_segment, type); O(segment.l, struct kvm_segment, l); O(segment.unusable, struct kvm_segment, unusable);
              S(dtable, struct kvm_dtable);
              S(memory_region, struct kvm_userspace_memory_region); O(memory_region.userspace_addr, struct kvm_userspace_memory_region, userspace_addr);
              S(vcpu_events, struct kvm_vcpu_events); O(vcpu_events.exception.error_code, struct kvm_vcpu_events, exception.error_code);
              O(vcpu_events.interrupt.injected, struct kvm_vcpu_events, interrupt.injected); O(vcpu_events.nmi.injected, struct kvm_vcpu_events, nmi.injected);
              O(vcpu_events.flags, struct kvm_vcpu_events, flags);
              V(KVM_GET_VCPU_EVENTS, KVM_GET_VCPU_EVENTS); V(KVM_SET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS);
              S(ioeventfd, struct kvm_ioeventfd); O(ioeventfd.fd, struct kvm_ioeventfd, fd); O(ioeventfd.flags, struct kvm_ioeventfd, flags);
              V(KVM_GET_API_VERSION, KVM_GET_API_VERSION); V(KVM_CREATE_VM, KVM_CREATE_VM); V(KVM_CHECK_EXTENSION, KVM_CHECK_EXTENSION);
              V(KVM_GET_VCPU_MMAP_SIZE, KVM_GET_VCPU_MMAP_SIZE); V(KVM_CREATE_VCPU, KVM_CREATE_VCPU); V(KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION);
              V(KVM_SET_TSS_ADDR, KVM_SET_TSS_ADDR); V(KVM_RUN, KVM_RUN); V(KVM_GET_REGS, KVM_GET_REGS); V(KVM_SET_REGS, KVM_SET_REGS);
              V(KVM_GET_SREGS, KVM_GET_SREGS); V(KVM_SET_SREGS, KVM_SET_SREGS); V(KVM_SET_CPUID2, KVM_SET_CPUID2);
              V(KVM_GET_SUPPORTED_CPUID, KVM_GET_SUPPORTED_CPUID); V(KVM_IOEVENTFD, KVM_IOEVENTFD);
              V(KVM_GET_MSRS, KVM_GET_MSRS); V(KVM_SET_MSRS, KVM_SET_MSRS); V(KVM_GET_TSC_KHZ, KVM_GET_TSC_KHZ);
              V(KVM_IOEVENTFD_FLAG_PIO, KVM_IOEVENTFD_FLAG_PIO); V(KVM_IOEVENTFD_FLAG_DEASSIGN, KVM_IOEVENTFD_FLAG_DEASSIGN);
              V(KVM_EXIT_IO, KVM_EXIT_IO); V(KVM_EXIT_MMIO, KVM_EXIT_MMIO); V(KVM_EXIT_HLT, KVM_EXIT_HLT); V(KVM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN);
              V(KVM_EXIT_FAIL_ENTRY, KVM_EXIT_FAIL_ENTRY); V(KVM_EXIT_INTR, KVM_EXIT_INTR); V(KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTERNAL_ERROR); V(KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_SYSTEM_EVENT);
              V(KVM_SYNC_X86_REGS, KVM_SYNC_X86_REGS);
              V(KVM_CAP_SYNC_REGS, KVM_CAP_SYNC_REGS); V(KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_IMMEDIATE_EXIT); V(KVM_CAP_IOEVENTFD, KVM_CAP_IOEVENTFD);
              V(KVM_CAP_USER_MEMORY, KVM_CAP_USER_MEMORY); V(KVM_CAP_NR_VCPUS, KVM_CAP_NR_VCPUS); V(KVM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPUS);
              V(KVM_CAP_IRQCHIP, KVM_CAP_IRQCHIP); V(KVM_CAP_SPLIT_IRQCHIP, KVM_CAP_SPLIT_IRQCHIP); V(KVM_CAP_IRQFD, KVM_CAP_IRQFD);
              V(KVM_CAP_COALESCED_MMIO, KVM_CAP_COALESCED_MMIO); V(KVM_CAP_COALESCED_PIO, KVM_CAP_COALESCED_PIO); V(KVM_CAP_X86_USER_SPACE_MSR, KVM_CAP_X86_USER_SPACE_MSR);
              V(KVM_CAP_SET_TSS_ADDR, KVM_CAP_SET_TSS_ADDR);
              return 0;
            }
            """);
        string binary = Path.Combine(dir, "probe");
        Run(cc, $"-o {binary} {source}");
        s_header = Run(binary, "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1]));
        return s_header;
    }

    private static string Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, error);
        return output;
    }

    private static long Off<T>(string field) => Marshal.OffsetOf<T>(field).ToInt64();

    [Test]
    public void KvmRunOffsetsMatchTheHeader()
    {
        var h = Header();
        Assert.Multiple(() =>
        {
            Assert.That(Off<KvmRun>(nameof(KvmRun.ImmediateExit)), Is.EqualTo(h["run.immediate_exit"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.ExitReason)), Is.EqualTo(h["run.exit_reason"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IfFlag)), Is.EqualTo(h["run.if_flag"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IoDirection)), Is.EqualTo(h["run.io.direction"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IoSize)), Is.EqualTo(h["run.io.size"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IoPort)), Is.EqualTo(h["run.io.port"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IoCount)), Is.EqualTo(h["run.io.count"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.IoDataOffset)), Is.EqualTo(h["run.io.data_offset"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.MmioPhysAddr)), Is.EqualTo(h["run.mmio.phys_addr"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.MmioData)), Is.EqualTo(h["run.mmio.data"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.MmioLen)), Is.EqualTo(h["run.mmio.len"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.MmioIsWrite)), Is.EqualTo(h["run.mmio.is_write"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.FailEntryReason)), Is.EqualTo(h["run.fail_entry"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.InternalSuberror)), Is.EqualTo(h["run.internal.suberror"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.KvmValidRegs)), Is.EqualTo(h["run.kvm_valid_regs"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.KvmDirtyRegs)), Is.EqualTo(h["run.kvm_dirty_regs"]));
            Assert.That(Off<KvmRun>(nameof(KvmRun.Regs)), Is.EqualTo(h["run.s.regs"]));
        });
    }

    [Test]
    public void RegisterAndSegmentStructsMatchTheHeader()
    {
        var h = Header();
        Assert.Multiple(() =>
        {
            Assert.That(Marshal.SizeOf<Registers>(), Is.EqualTo(h["regs"]));
            Assert.That(Off<Registers>(nameof(Registers.Rip)), Is.EqualTo(h["regs.rip"]));
            Assert.That(Off<Registers>(nameof(Registers.R10)), Is.EqualTo(h["regs.r10"]));
            Assert.That(Off<Registers>(nameof(Registers.Rflags)), Is.EqualTo(h["regs.rflags"]));
            Assert.That(Marshal.SizeOf<KvmSregs>(), Is.EqualTo(h["sregs"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Tr)), Is.EqualTo(h["sregs.tr"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Gdt)), Is.EqualTo(h["sregs.gdt"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Idt)), Is.EqualTo(h["sregs.idt"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Cr0)), Is.EqualTo(h["sregs.cr0"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Cr2)), Is.EqualTo(h["sregs.cr2"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.Efer)), Is.EqualTo(h["sregs.efer"]));
            Assert.That(Off<KvmSregs>(nameof(KvmSregs.InterruptBitmap)), Is.EqualTo(h["sregs.interrupt_bitmap"]));
            Assert.That(Marshal.SizeOf<KvmSegment>(), Is.EqualTo(h["segment"]));
            Assert.That(Marshal.SizeOf<KvmVcpuEvents>(), Is.EqualTo(h["vcpu_events"]));
            Assert.That(Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionErrorCode)), Is.EqualTo(h["vcpu_events.exception.error_code"]));
            Assert.That(Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.InterruptInjected)), Is.EqualTo(h["vcpu_events.interrupt.injected"]));
            Assert.That(Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.NmiInjected)), Is.EqualTo(h["vcpu_events.nmi.injected"]));
            Assert.That(Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.Flags)), Is.EqualTo(h["vcpu_events.flags"]));
            Assert.That(Off<KvmSegment>(nameof(KvmSegment.Selector)), Is.EqualTo(h["segment.selector"]));
            Assert.That(Off<KvmSegment>(nameof(KvmSegment.Type)), Is.EqualTo(h["segment.type"]));
            Assert.That(Off<KvmSegment>(nameof(KvmSegment.L)), Is.EqualTo(h["segment.l"]));
            Assert.That(Off<KvmSegment>(nameof(KvmSegment.Unusable)), Is.EqualTo(h["segment.unusable"]));
            Assert.That(Marshal.SizeOf<KvmDtable>(), Is.EqualTo(h["dtable"]));
            Assert.That(Marshal.SizeOf<KvmUserspaceMemoryRegion>(), Is.EqualTo(h["memory_region"]));
            Assert.That(Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.UserspaceAddr)), Is.EqualTo(h["memory_region.userspace_addr"]));
            Assert.That(Marshal.SizeOf<KvmIoeventfd>(), Is.EqualTo(h["ioeventfd"]));
            Assert.That(Off<KvmIoeventfd>(nameof(KvmIoeventfd.Fd)), Is.EqualTo(h["ioeventfd.fd"]));
            Assert.That(Off<KvmIoeventfd>(nameof(KvmIoeventfd.Flags)), Is.EqualTo(h["ioeventfd.flags"]));
        });
    }

    [Test]
    public void IoctlNumbersAndConstantsMatchTheHeader()
    {
        var h = Header();
        Assert.Multiple(() =>
        {
            Assert.That((long)KvmIoctl.GetApiVersion, Is.EqualTo(h["KVM_GET_API_VERSION"]));
            Assert.That((long)KvmIoctl.CreateVm, Is.EqualTo(h["KVM_CREATE_VM"]));
            Assert.That((long)KvmIoctl.CheckExtension, Is.EqualTo(h["KVM_CHECK_EXTENSION"]));
            Assert.That((long)KvmIoctl.GetVcpuMmapSize, Is.EqualTo(h["KVM_GET_VCPU_MMAP_SIZE"]));
            Assert.That((long)KvmIoctl.CreateVcpu, Is.EqualTo(h["KVM_CREATE_VCPU"]));
            Assert.That((long)KvmIoctl.SetUserMemoryRegion, Is.EqualTo(h["KVM_SET_USER_MEMORY_REGION"]));
            Assert.That((long)KvmIoctl.SetTssAddr, Is.EqualTo(h["KVM_SET_TSS_ADDR"]));
            Assert.That((long)KvmIoctl.Run, Is.EqualTo(h["KVM_RUN"]));
            Assert.That((long)KvmIoctl.GetRegs, Is.EqualTo(h["KVM_GET_REGS"]));
            Assert.That((long)KvmIoctl.SetRegs, Is.EqualTo(h["KVM_SET_REGS"]));
            Assert.That((long)KvmIoctl.GetSregs, Is.EqualTo(h["KVM_GET_SREGS"]));
            Assert.That((long)KvmIoctl.SetSregs, Is.EqualTo(h["KVM_SET_SREGS"]));
            Assert.That((long)KvmIoctl.SetCpuid2, Is.EqualTo(h["KVM_SET_CPUID2"]));
            Assert.That((long)KvmIoctl.GetSupportedCpuid, Is.EqualTo(h["KVM_GET_SUPPORTED_CPUID"]));
            Assert.That((long)KvmIoctl.Ioeventfd, Is.EqualTo(h["KVM_IOEVENTFD"]));
            Assert.That((long)KvmIoctl.GetVcpuEvents, Is.EqualTo(h["KVM_GET_VCPU_EVENTS"]));
            Assert.That((long)KvmIoctl.SetVcpuEvents, Is.EqualTo(h["KVM_SET_VCPU_EVENTS"]));
            Assert.That((long)KvmIoctl.GetMsrs, Is.EqualTo(h["KVM_GET_MSRS"]));
            Assert.That((long)KvmIoctl.SetMsrs, Is.EqualTo(h["KVM_SET_MSRS"]));
            Assert.That((long)KvmIoctl.GetTscKhz, Is.EqualTo(h["KVM_GET_TSC_KHZ"]));
            Assert.That((long)KvmIoctl.IoeventfdFlagPio, Is.EqualTo(h["KVM_IOEVENTFD_FLAG_PIO"]));
            Assert.That((long)KvmIoctl.IoeventfdFlagDeassign, Is.EqualTo(h["KVM_IOEVENTFD_FLAG_DEASSIGN"]));
            Assert.That((long)KvmExit.Io, Is.EqualTo(h["KVM_EXIT_IO"]));
            Assert.That((long)KvmExit.Mmio, Is.EqualTo(h["KVM_EXIT_MMIO"]));
            Assert.That((long)KvmExit.Hlt, Is.EqualTo(h["KVM_EXIT_HLT"]));
            Assert.That((long)KvmExit.Shutdown, Is.EqualTo(h["KVM_EXIT_SHUTDOWN"]));
            Assert.That((long)KvmExit.FailEntry, Is.EqualTo(h["KVM_EXIT_FAIL_ENTRY"]));
            Assert.That((long)KvmExit.Intr, Is.EqualTo(h["KVM_EXIT_INTR"]));
            Assert.That((long)KvmExit.InternalError, Is.EqualTo(h["KVM_EXIT_INTERNAL_ERROR"]));
            Assert.That((long)KvmExit.SystemEvent, Is.EqualTo(h["KVM_EXIT_SYSTEM_EVENT"]));
            Assert.That((long)KvmRun.SyncRegs, Is.EqualTo(h["KVM_SYNC_X86_REGS"]));
            foreach (KvmCapability cap in Enum.GetValues<KvmCapability>())
            {
                string name = "KVM_CAP_" + cap switch
                {
                    KvmCapability.Irqchip => "IRQCHIP", KvmCapability.UserMemory => "USER_MEMORY", KvmCapability.SetTssAddr => "SET_TSS_ADDR",
                    KvmCapability.NrVcpus => "NR_VCPUS", KvmCapability.CoalescedMmio => "COALESCED_MMIO", KvmCapability.Irqfd => "IRQFD",
                    KvmCapability.Ioeventfd => "IOEVENTFD", KvmCapability.MaxVcpus => "MAX_VCPUS", KvmCapability.SyncRegs => "SYNC_REGS",
                    KvmCapability.SplitIrqchip => "SPLIT_IRQCHIP", KvmCapability.ImmediateExit => "IMMEDIATE_EXIT",
                    KvmCapability.CoalescedPio => "COALESCED_PIO", KvmCapability.X86UserSpaceMsr => "X86_USER_SPACE_MSR",
                    _ => throw new InvalidOperationException(cap.ToString()),
                };
                Assert.That((long)cap, Is.EqualTo(h[name]), name);
            }
        });
    }
}
