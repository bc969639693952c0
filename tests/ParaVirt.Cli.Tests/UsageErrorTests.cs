namespace ParaVirt.Cli.Tests;

/// <summary>A wrong command line: exit code 2, one line on stderr, no stack trace.</summary>
public class UsageErrorTests
{
    [Test]
    public void AnUnknownCommand() =>
        Paravirt.AssertError(Paravirt.Run("bogus"), ExitCodes.Usage, "unknown command 'bogus'");

    [Test]
    public void AnUnknownFlag() =>
        Paravirt.AssertError(Paravirt.Run("run", "--bogus", Paravirt.HelloImage), ExitCodes.Usage, "unknown option '--bogus'");

    [Test]
    public void AnUnknownFlagOfInfo() =>
        Paravirt.AssertError(Paravirt.Run("info", "--verbose"), ExitCodes.Usage, "unknown option '--verbose'");

    [Test]
    public void AnUnexpectedArgumentOfInfo() =>
        Paravirt.AssertError(Paravirt.Run("info", "extra"), ExitCodes.Usage, "unexpected argument 'extra'");

    [TestCase("--memory")]
    [TestCase("--timeout")]
    public void AFlagWithoutItsValue(string flag) =>
        Paravirt.AssertError(Paravirt.Run("run", Paravirt.HelloImage, flag), ExitCodes.Usage, $"option '{flag}' needs a value");

    [Test]
    public void ASwitchGivenAValue() =>
        Paravirt.AssertError(Paravirt.Run("run", Paravirt.HelloImage, "--quiet=yes"), ExitCodes.Usage, "option '--quiet' takes no value");

    [TestCase(new[] { "--disk-interface", "nvme" }, "option '--disk-interface' needs '--disk FILE'")]
    [TestCase(new[] { "--mode", "full", "--disk", "d.img", "--disk-interface", "scsi" }, "unknown disk interface 'scsi' (known: ata-pio, ide-dma, nvme, virtio-blk, virtio-blk-async)")]
    [TestCase(new[] { "--mode", "para", "--disk", "d.img", "--disk-interface", "nvme" }, "the disk interface 'nvme' is a full-mode device; this run is in para mode")]
    public void ABadDiskInterface(string[] options, string message) =>
        Paravirt.AssertError(Paravirt.Run(["run", Paravirt.HelloImage, .. options]), ExitCodes.Usage, message);

    [Test]
    public void RunWithoutAnImage() =>
        Paravirt.AssertError(Paravirt.Run("run"), ExitCodes.Usage, "missing the image to run");

    [Test]
    public void RunWithTwoImages() =>
        Paravirt.AssertError(Paravirt.Run("run", Paravirt.HelloImage, "second.pvimg"), ExitCodes.Usage, "unexpected argument 'second.pvimg'");

    [TestCase("abc", "must be a number from 4 to 1024, not 'abc'")]
    [TestCase("", "must be a number from 4 to 1024, not ''")]
    [TestCase("0", "must be a number from 4 to 1024")]
    [TestCase("2", "must be a number from 4 to 1024")]
    [TestCase("-8", "must be a number from 4 to 1024")]
    [TestCase("2048", "must be a number from 4 to 1024")]
    [TestCase("NaN", "must be a number from 4 to 1024")]
    [TestCase("Infinity", "must be a number from 4 to 1024")]
    [TestCase("5", "must be a multiple of 2 MiB")]
    [TestCase("4.5", "must be a multiple of 2 MiB")]
    public void ABadMemoryValue(string value, string message) =>
        Paravirt.AssertError(Paravirt.Run("run", Paravirt.HelloImage, $"--memory={value}"), ExitCodes.Usage, $"option '--memory' {message}");

    [TestCase("abc")]
    [TestCase("0")]
    [TestCase("-1")]
    [TestCase("NaN")]
    [TestCase("1e9")]
    public void ABadTimeoutValue(string value) =>
        Paravirt.AssertError(Paravirt.Run("run", Paravirt.HelloImage, "--timeout", value), ExitCodes.Usage, "option '--timeout' must be a number from 0.001 to 86400");

    [Test]
    public void ABadValueIsReportedBeforeTheImageIsRead() =>
        Paravirt.AssertError(Paravirt.Run("run", "/nonexistent/x.pvimg", "--memory", "abc"), ExitCodes.Usage, "option '--memory'");
}
