using System.IO;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// <c>paravirt run --mode</c>: the workloads guests run from the command line on the platform of
/// their mode, over a real disk file that both modes share.
/// </summary>
public class PlatformRunTests
{
    private string _disk = "";

    private static string Image(string mode) => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", $"Workloads.{mode}.pvimg");

    [SetUp]
    public void CreateDisk()
    {
        _disk = Path.Combine(Path.GetTempPath(), $"paravirt-cli-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(_disk, new byte[8 << 20]);
    }

    [TearDown]
    public void DeleteDisk() => File.Delete(_disk);

    private static void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    [TestCase("full", "para")]
    [TestCase("para", "full")]
    public void WhatOneModeWritesTheOtherReadsBack(string writer, string reader)
    {
        RequireKvm();
        CliResult write = Paravirt.Run("run", Image(Capitalised(writer)), "--mode", writer, "--disk", _disk, "--cmdline", "blk-write 16");
        Assert.That(write.ExitCode, Is.Zero, write.ToString());
        Assert.That(write.Stderr, Does.Contain("GuestShutdown"));
        CliResult read = Paravirt.Run("run", Image(Capitalised(reader)), "--mode", reader, "--disk", _disk, "--cmdline", "blk-read 16", "--quiet");
        Assert.That(read.ExitCode, Is.Zero, read.ToString());
    }

    [TestCase("nvme", "ide-dma")]
    [TestCase("ide-dma", "virtio-blk-async")]
    public void DiskInterfaceChoosesTheDevice(string writer, string reader)
    {
        RequireKvm();
        string writerMode = writer == "virtio-blk-async" ? "para" : "full", readerMode = reader == "virtio-blk-async" ? "para" : "full";
        CliResult write = Paravirt.Run("run", Image(Capitalised(writerMode)), "--mode", writerMode, "--disk", _disk, "--disk-interface", writer, "--cmdline", $"blk-write 16 disk={writer}");
        Assert.That(write.ExitCode, Is.Zero, write.ToString());
        // The summary names the device's exits: MMIO for NVMe, port I/O for IDE DMA.
        Assert.That(write.Stderr, Does.Contain(writer == "nvme" ? "Mmio" : "PortIo"));
        CliResult read = Paravirt.Run("run", Image(Capitalised(readerMode)), "--mode", readerMode, "--disk", _disk, "--disk-interface", reader, "--cmdline", $"blk-read 16 disk={reader}", "--quiet");
        Assert.That(read.ExitCode, Is.Zero, read.ToString());
    }

    [Test]
    public void TheGuestOnADeviceTheRunDidNotAttachFailsToFindIt()
    {
        RequireKvm();
        // The guest looks for NVMe; without --disk-interface the full platform's disk is ATA PIO.
        CliResult write = Paravirt.Run("run", Image("Full"), "--mode", "full", "--disk", _disk, "--cmdline", "blk-write 16 disk=nvme", "--quiet");
        Assert.That(write.ExitCode, Is.Not.Zero, write.ToString());
    }

    [Test]
    public void ACorruptedSectorFailsTheReadBack()
    {
        RequireKvm();
        Assert.That(Paravirt.Run("run", Image("Para"), "--mode", "para", "--disk", _disk, "--cmdline", "blk-write 16", "--quiet").ExitCode, Is.Zero);
        using (FileStream file = File.Open(_disk, FileMode.Open))
        {
            file.Position = 3 * 512 + 17;
            file.WriteByte((byte)(file.ReadByte() ^ 0xFF));
        }
        CliResult read = Paravirt.Run("run", Image("Full"), "--mode", "full", "--disk", _disk, "--cmdline", "blk-read 16", "--quiet");
        Assert.That(read.ExitCode, Is.EqualTo(68), "the workloads guest's 'verification failed' code");
    }

    [Test]
    public void TheFullPlatformCarriesTheUartAndThePit()
    {
        RequireKvm();
        CliResult result = Paravirt.Run("run", Image("Full"), "--mode", "full", "--cmdline", "console 64");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Has.Length.EqualTo(64), "64 bytes through the emulated 16550");
        Assert.That(result.Stderr, Does.Contain("PortIo"));
    }

    [Test]
    public void ADiskNeedsAMode() =>
        Paravirt.AssertError(Paravirt.Run("run", Image("Para"), "--disk", "x.img"), ExitCodes.Usage, "option '--disk' needs '--mode full' or '--mode para'");

    [Test]
    public void AnUnknownModeIsAUsageError() =>
        Paravirt.AssertError(Paravirt.Run("run", Image("Para"), "--mode", "turbo"), ExitCodes.Usage, "option '--mode' must be 'full' or 'para', not 'turbo'");

    [Test]
    public void AMissingDiskIsNamed()
    {
        RequireKvm();
        Paravirt.AssertError(Paravirt.Run("run", Image("Para"), "--mode", "para", "--disk", "/nonexistent/disk.img"), ExitCodes.BadDisk, "disk '/nonexistent/disk.img' not found");
    }

    [Test]
    public void ADirectoryIsNotADisk()
    {
        RequireKvm();
        Paravirt.AssertError(Paravirt.Run("run", Image("Para"), "--mode", "para", "--disk", Path.GetTempPath()), ExitCodes.BadDisk, "is a directory");
    }

    [Test]
    public void ACommandLineTooLongForTheStartInfoPageIsRefused() =>
        Paravirt.AssertError(Paravirt.Run("run", Image("Para"), "--cmdline", new string('x', 5000)), ExitCodes.Usage, "option '--cmdline' is 5000 bytes");

    private static string Capitalised(string mode) => char.ToUpperInvariant(mode[0]) + mode[1..];
}
