using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.ExceptionServices;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// Finds the user devices an assembly declares: public <see cref="VirtioDevice"/> subclasses marked
/// <see cref="VirtioDeviceAttribute"/>, and public <see cref="IVirtioDeviceFactory"/> classes. Loading
/// the assembly is the host's part (the <c>paravirt</c> command uses its own AssemblyLoadContext);
/// this reads the types and checks each declaration, so that a wrong one is reported by name
/// before any VM is built.
/// </summary>
/// <example><code>
/// IReadOnlyList&lt;VirtioDeviceProvider&gt; found = VirtioDeviceDiscovery.Find(assembly);
/// VirtioDeviceProvider rng = found.Single(d =&gt; d.Name == "rng");
/// MachineBuilder.Create().WithMode(VirtualizationMode.Para).WithVirtioDevice(m =&gt; rng.Create(m, "")).Build();
/// </code></example>
public static class VirtioDeviceDiscovery
{
    /// <summary>The devices <paramref name="assembly"/> declares, in type order.</summary>
    /// <exception cref="InvalidOperationException">
    /// A declaration is wrong (the message names the type and what is missing), two devices share a
    /// name, or a factory's constructor or <see cref="IVirtioDeviceFactory.Name"/> throws.
    /// </exception>
    /// <exception cref="ReflectionTypeLoadException">The assembly's types cannot be loaded (a dependency is missing).</exception>
    public static IReadOnlyList<VirtioDeviceProvider> Find(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var found = new List<VirtioDeviceProvider>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Type type in assembly.GetTypes())
        {
            VirtioDeviceProvider? provider = FromAttribute(type) ?? FromFactory(type);
            if (provider is null)
                continue;
            if (provider.Name.Contains(':', StringComparison.Ordinal))
                throw new InvalidOperationException($"{type.FullName}: the device name '{provider.Name}' contains ':' (it separates the name from the options)");
            if (names.TryGetValue(provider.Name, out string? other))
                throw new InvalidOperationException($"two devices are named '{provider.Name}': {other} and {type.FullName}");
            names.Add(provider.Name, type.FullName ?? type.Name);
            found.Add(provider);
        }
        return found;
    }

    private static VirtioDeviceProvider? FromAttribute(Type type)
    {
        VirtioDeviceAttribute? attribute = type.GetCustomAttribute<VirtioDeviceAttribute>(inherit: false);
        if (attribute is null)
            return null;
        string typeName = type.FullName ?? type.Name;
        if (!typeof(VirtioDevice).IsAssignableFrom(type) || type.IsAbstract || !type.IsPublic && !type.IsNestedPublic)
            throw new InvalidOperationException($"{typeName}: [VirtioDevice(\"{attribute.Name}\")] is on a type that is not a public, non-abstract VirtioDevice subclass");
        ConstructorInfo? withOptions = type.GetConstructor([typeof(GuestMemory), typeof(string)]);
        ConstructorInfo? memoryOnly = type.GetConstructor([typeof(GuestMemory)]);
        if (withOptions is null && memoryOnly is null)
            throw new InvalidOperationException($"{typeName}: device '{attribute.Name}' has no public constructor (GuestMemory memory, string options) or (GuestMemory memory)");
        return new VirtioDeviceProvider(attribute.Name, typeName, (memory, options) =>
            (VirtioDevice)Invoke(withOptions is not null ? () => withOptions.Invoke([memory, options]) : () => memoryOnly!.Invoke([memory])));
    }

    private static VirtioDeviceProvider? FromFactory(Type type)
    {
        if (!typeof(IVirtioDeviceFactory).IsAssignableFrom(type) || type.IsInterface || type.IsAbstract || !type.IsPublic && !type.IsNestedPublic)
            return null;
        string typeName = type.FullName ?? type.Name;
        if (type.GetConstructor(Type.EmptyTypes) is not { } constructor)
            throw new InvalidOperationException($"{typeName}: an IVirtioDeviceFactory needs a public parameterless constructor");
        IVirtioDeviceFactory factory;
        string name;
        try
        {
            factory = (IVirtioDeviceFactory)Invoke(() => constructor.Invoke(null));
            name = factory.Name;
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{typeName}: the device factory failed: {ex.GetType().Name}: {ex.Message}", ex);
        }
        if (string.IsNullOrWhiteSpace(name))
            throw new InvalidOperationException($"{typeName}: the device factory's Name is empty");
        return new VirtioDeviceProvider(name, typeName, (memory, options) =>
            factory.Create(memory, options) ?? throw new InvalidOperationException($"{typeName}.Create returned null"));
    }

    /// <summary>Runs a reflection call and rethrows what the user's code threw, not the reflection wrapper.</summary>
    private static object Invoke(Func<object?> call)
    {
        try
        {
            return call() ?? throw new InvalidOperationException("the constructor returned null");
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw; // unreachable
        }
    }
}
