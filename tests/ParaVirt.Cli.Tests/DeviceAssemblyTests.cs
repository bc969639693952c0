using System.IO;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// <c>paravirt run --device-assembly FILE --device NAME</c>: a user's device is loaded from its own
/// folder and attached after the built-in ones; every bad input is one line, exit code
/// <see cref="ExitCodes.BadDevice"/> (or <see cref="ExitCodes.Usage"/> for a bad command line),
/// and no stack trace.
/// </summary>
public class DeviceAssemblyTests
{
    /// <summary>The test device assembly in its own bin folder (beside its own copies of the ParaVirt libraries, as a user's would be).</summary>
    private static string DeviceAssembly
    {
        get
        {
            var test = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);   // .../ParaVirt.Cli.Tests/bin/<cfg>/net10.0
            string configuration = test.Parent!.Name;
            string path = Path.Combine(test.Parent.Parent!.Parent!.Parent!.FullName, "ParaVirt.Cli.Tests.Devices", "bin", configuration, test.Name, "ParaVirt.Cli.Tests.Devices.dll");
            Assert.That(File.Exists(path), Is.True, $"the test device assembly is built at {path}");
            return path;
        }
    }

    private static string ParaImage => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", "Workloads.Para.pvimg");

    private static void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    [Test]
    public void AMissingAssemblyIsOneLine() =>
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--device-assembly", "/nonexistent/MyDevices.dll", "--device", "rng"),
            ExitCodes.BadDevice, "paravirt: device assembly '/nonexistent/MyDevices.dll' not found");

    [Test]
    public void AFileThatIsNotADotNetAssemblyIsOneLine()
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-not-an-assembly-{Guid.NewGuid():N}.dll");
        File.WriteAllText(path, "this is not a PE file\n");
        try
        {
            Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--device-assembly", path, "--device", "rng"),
                ExitCodes.BadDevice, $"paravirt: device assembly '{path}' is not a .NET assembly");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ANativeLibraryIsNotADotNetAssemblyEither()
    {
        string native = Directory.GetFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "libSystem.Native.so").FirstOrDefault()
            ?? Directory.GetFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "*.so").First();
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--device-assembly", native, "--device", "rng"),
            ExitCodes.BadDevice, "is not a .NET assembly");
    }

    [Test]
    public void AnUnknownDeviceNameListsTheDevicesFound() =>
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--device-assembly", DeviceAssembly, "--device", "nosuch"),
            ExitCodes.BadDevice, $"paravirt: no device named 'nosuch' in '{DeviceAssembly}' (devices: broken, rng, seeded-rng)");

    [Test]
    public void ADeviceNeedsParaMode() =>
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "full", "--device-assembly", DeviceAssembly, "--device", "rng"),
            ExitCodes.Usage, "option '--device' needs '--mode para'");

    [Test]
    public void ADeviceNeedsAnAssembly() =>
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--device", "rng"),
            ExitCodes.Usage, "option '--device' needs '--device-assembly FILE.dll'");

    [Test]
    public void ADeviceWhoseConstructorThrowsIsNamedWithTheMessage()
    {
        RequireKvm();
        Paravirt.AssertError(Paravirt.Run("run", ParaImage, "--mode", "para", "--cmdline", "console 16", "--device-assembly", DeviceAssembly, "--device", "broken"),
            ExitCodes.BadDevice,
            "paravirt: device 'broken' (ParaVirt.Cli.Tests.Devices.BrokenDevice) failed to start: InvalidOperationException: the test device refuses to start");
    }

    [Test]
    public void UserDevicesAreAttachedAfterTheBuiltInOnesAndTheGuestRuns()
    {
        RequireKvm();
        CliResult result = Paravirt.Run("run", ParaImage, "--mode", "para", "--cmdline", "console 16",
            "--device-assembly", DeviceAssembly, "--device", "rng:seed=7", "--device", "seeded-rng");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stderr, Does.Contain("--   virtio device 0 ParaVirt.Devices.Virtio.VirtioConsole (id 3,"));
            Assert.That(result.Stderr, Does.Contain("--   virtio device 1 ParaVirt.Cli.Tests.Devices.TestRng (id 4,"));
            Assert.That(result.Stderr, Does.Contain("--   virtio device 2 ParaVirt.Cli.Tests.Devices.TestRng (id 4,"));
            Assert.That(result.Stderr, Does.Not.Contain("paravirt: "), "no error line");
        });
    }
}
