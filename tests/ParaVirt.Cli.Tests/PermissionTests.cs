using System.IO;
using System.Runtime.Versioning;

namespace ParaVirt.Cli.Tests;

/// <summary>A user who may not open /dev/kvm (nobody), or may not read the image.</summary>
[UnsupportedOSPlatform("windows")]
public class PermissionTests
{
    private const string NoPermission = "no permission to open /dev/kvm";

    [SetUp]
    public void RequireAnUnprivilegedUser() => Unprivileged.Require();

    [Test]
    public void RunWithoutPermissionOnDevKvm() =>
        Paravirt.AssertError(Unprivileged.Run("run", Paravirt.HelloImage), ExitCodes.NoKvm, $"paravirt: {NoPermission}");

    [Test]
    public void InfoWithoutPermissionOnDevKvm()
    {
        CliResult result = Unprivileged.Run("info");
        Paravirt.AssertError(result, ExitCodes.NoKvm, $"paravirt: {NoPermission}");
        Assert.That(result.Stdout, Does.Contain($"usable           no: {NoPermission}"), "the report says why too");
    }

    [Test]
    public void AnImageTheUserMayNotRead()
    {
        string directory = Directory.CreateTempSubdirectory("paravirt-cli-tests-").FullName;
        try
        {
            Unprivileged.SetMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
            string path = Path.Combine(directory, "secret.pvimg");
            File.Copy(Paravirt.HelloImage, path);
            Unprivileged.SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Paravirt.AssertError(Unprivileged.Run("run", path), ExitCodes.BadImage, $"paravirt: cannot read '{path}'");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
