using System.IO;
using System.Runtime.Versioning;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// Runs paravirt as the unprivileged user nobody (uid/gid 65534) through setpriv or runuser, for
/// the cases that need a user who may not open /dev/kvm.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class Unprivileged
{
    private const int Nobody = 65534;

    /// <summary>Ignores the calling test, with the reason, unless paravirt can run as nobody and nobody cannot open /dev/kvm.</summary>
    public static void Require()
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Ignore("the tests do not run as root, so they cannot switch to an unprivileged user");
        if (Tool() is null)
            Assert.Ignore("neither setpriv nor runuser exists here");
        if (!File.Exists("/dev/kvm"))
            Assert.Ignore("/dev/kvm does not exist: there is no permission to take away");
        UnixFileMode kvm = File.GetUnixFileMode("/dev/kvm");
        if ((kvm & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) == (UnixFileMode.OtherRead | UnixFileMode.OtherWrite))
            Assert.Ignore($"/dev/kvm is {kvm}: any user may open it, so 'no permission' cannot happen");
        foreach (string path in new[] { Paravirt.Dll, Paravirt.HelloImage, Paravirt.DotnetHost })
            if (!ReachableByOthers(path))
                Assert.Ignore($"{path} is not readable by other users, so paravirt cannot run as nobody");
    }

    /// <summary>Runs <c>dotnet paravirt.dll args</c> as nobody.</summary>
    public static CliResult Run(params string[] args)
    {
        (string program, string[] prefix) = Tool() ?? throw new InvalidOperationException("call Require first");
        return Paravirt.Start(program, [.. prefix, Paravirt.DotnetHost, Paravirt.Dll, .. args]);
    }

    /// <summary>Makes <paramref name="path"/> and its directory usable (or not) by nobody.</summary>
    public static void SetMode(string path, UnixFileMode mode) => File.SetUnixFileMode(path, mode);

    private static (string Program, string[] Prefix)? Tool()
    {
        foreach (string dir in new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" })
        {
            string setpriv = Path.Combine(dir, "setpriv");
            if (File.Exists(setpriv))
                return (setpriv, [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups"]);
        }
        foreach (string dir in new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" })
        {
            string runuser = Path.Combine(dir, "runuser");
            if (File.Exists(runuser))
                return (runuser, ["-u", "nobody", "--"]);
        }
        return null;
    }

    /// <summary>Whether other users can read <paramref name="path"/> and pass through every directory above it.</summary>
    private static bool ReachableByOthers(string path)
    {
        string? full = Path.GetFullPath(path);
        if ((File.GetUnixFileMode(full) & UnixFileMode.OtherRead) == 0)
            return false;
        for (string? dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
            if ((File.GetUnixFileMode(dir) & UnixFileMode.OtherExecute) == 0)
                return false;
        return true;
    }
}
