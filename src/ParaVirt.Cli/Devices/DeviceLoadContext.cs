using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace ParaVirt.Cli.Devices;

/// <summary>
/// The load context of one user device assembly. The host's own assemblies (ParaVirt.*, the
/// framework, anything already loaded by <c>paravirt</c>) come from the default context, so a
/// user's <c>VirtioDevice</c> subclass derives from the very type the machine builder attaches; the
/// assembly's other dependencies come from its deps.json or, without one, from its directory.
/// </summary>
internal sealed class DeviceLoadContext : AssemblyLoadContext
{
    private readonly string _directory;
    private readonly AssemblyDependencyResolver? _resolver;

    public DeviceLoadContext(string assemblyPath)
        : base($"paravirt devices: {Path.GetFileName(assemblyPath)}", isCollectible: false)
    {
        _directory = Path.GetDirectoryName(assemblyPath) ?? ".";
        try
        {
            _resolver = new AssemblyDependencyResolver(assemblyPath);
        }
        catch (InvalidOperationException)
        {
            _resolver = null; // no usable deps.json: probe the directory
        }
    }

    protected override Assembly? Load(AssemblyName name)
    {
        if (IsHostAssembly(name))
            return null;
        string? path = _resolver?.ResolveAssemblyToPath(name);
        if (path is null && name.Name is { Length: > 0 } simple)
        {
            string candidate = Path.Combine(_directory, simple + ".dll");
            if (File.Exists(candidate))
                path = candidate;
        }
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    private static bool IsHostAssembly(AssemblyName name)
    {
        if (name.Name is null)
            return false;
        if (name.Name.StartsWith("ParaVirt.", StringComparison.Ordinal))
            return true;
        foreach (Assembly loaded in Default.Assemblies)
            if (string.Equals(loaded.GetName().Name, name.Name, StringComparison.Ordinal))
                return true;
        try
        {
            // The framework and paravirt's own dependencies.
            Default.LoadFromAssemblyName(name);
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return false;
        }
    }
}
