using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using ParaVirt.Devices.Virtio;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Devices;

/// <summary>
/// <c>paravirt run --device-assembly FILE --device NAME[:OPTIONS]</c>: loads each assembly in its
/// own <see cref="DeviceLoadContext"/>, finds its devices (<see cref="VirtioDeviceDiscovery"/>:
/// <see cref="VirtioDeviceAttribute"/> or <see cref="IVirtioDeviceFactory"/>), resolves the names
/// asked for, and adds them to the machine through <see cref="MachineBuilder.WithVirtioDevice"/>.
/// Every failure is one line with <see cref="ExitCodes.BadDevice"/>: a missing or broken assembly,
/// a wrong declaration, an unknown name (the names found are listed), a device whose constructor
/// throws (named, with the message).
/// </summary>
internal sealed class UserDevices
{
    private readonly List<(VirtioDeviceProvider Provider, string Options)> _requested = [];

    private UserDevices()
    {
    }

    /// <summary>The devices asked for, in order, as "name (type)".</summary>
    public IReadOnlyList<string> Describe() => _requested.Select(r => $"{r.Provider.Name} ({r.Provider.TypeName})").ToList();

    public int Count => _requested.Count;

    /// <summary>Loads <paramref name="assemblies"/> and resolves each of <paramref name="devices"/> ("NAME" or "NAME:OPTIONS").</summary>
    public static UserDevices Resolve(IReadOnlyList<string> assemblies, IReadOnlyList<string> devices)
    {
        var found = new List<(VirtioDeviceProvider Provider, string Assembly)>();
        foreach (string path in assemblies)
        {
            foreach (VirtioDeviceProvider provider in Load(path))
            {
                (VirtioDeviceProvider Provider, string Assembly) clash = found.FirstOrDefault(f => f.Provider.Name == provider.Name);
                if (clash.Provider is not null)
                    throw new CliException($"two devices are named '{provider.Name}': {clash.Provider.TypeName} in '{clash.Assembly}' and {provider.TypeName} in '{path}'", ExitCodes.BadDevice);
                found.Add((provider, path));
            }
        }
        var result = new UserDevices();
        foreach (string device in devices)
        {
            int colon = device.IndexOf(':', StringComparison.Ordinal);
            string name = colon < 0 ? device : device[..colon];
            string options = colon < 0 ? "" : device[(colon + 1)..];
            VirtioDeviceProvider? provider = found.FirstOrDefault(f => f.Provider.Name == name).Provider;
            if (provider is null)
            {
                string where = string.Join(", ", assemblies.Select(a => $"'{a}'"));
                string known = found.Count == 0 ? "it declares no devices" : $"devices: {string.Join(", ", found.Select(f => f.Provider.Name).Order(StringComparer.Ordinal))}";
                throw new CliException($"no device named '{name}' in {where} ({known})", ExitCodes.BadDevice);
            }
            result._requested.Add((provider, options));
        }
        return result;
    }

    /// <summary>Adds every requested device to <paramref name="builder"/>; a constructor that throws becomes a one-line error naming the device.</summary>
    public void AddTo(MachineBuilder builder)
    {
        foreach ((VirtioDeviceProvider provider, string options) in _requested)
        {
            builder.WithVirtioDevice(memory =>
            {
                try
                {
                    return provider.Create(memory, options);
                }
                catch (Exception ex)
                {
                    throw new CliException($"device '{provider.Name}' ({provider.TypeName}) failed to start: {ex.GetType().Name}: {OneLine(ex.Message)}", ExitCodes.BadDevice);
                }
            });
        }
    }

    private static IReadOnlyList<VirtioDeviceProvider> Load(string path)
    {
        if (Directory.Exists(path))
            throw new CliException($"device assembly '{path}' is a directory, not a .dll", ExitCodes.BadDevice);
        if (!File.Exists(path))
            throw new CliException($"device assembly '{path}' not found", ExitCodes.BadDevice);
        string full = Path.GetFullPath(path);
        try
        {
            Assembly assembly = new DeviceLoadContext(full).LoadFromAssemblyPath(full);
            return VirtioDeviceDiscovery.Find(assembly);
        }
        catch (BadImageFormatException)
        {
            throw new CliException($"device assembly '{path}' is not a .NET assembly", ExitCodes.BadDevice);
        }
        catch (ReflectionTypeLoadException ex)
        {
            string why = ex.LoaderExceptions.FirstOrDefault(e => e is not null)?.Message ?? ex.Message;
            throw new CliException($"device assembly '{path}': its types cannot be loaded: {OneLine(why)}", ExitCodes.BadDevice);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException($"device assembly '{path}': {OneLine(ex.Message)}", ExitCodes.BadDevice);
        }
        catch (Exception ex) when (ex is FileLoadException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot load device assembly '{path}': {OneLine(ex.Message)}", ExitCodes.BadDevice);
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
