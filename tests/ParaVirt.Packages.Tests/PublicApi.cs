using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace ParaVirt.Packages.Tests;

/// <summary>
/// The assemblies an assembly's public API names: base types, interfaces, and the types of every
/// public or protected field, property, event, constructor and method parameter and return value
/// (generic arguments and array elements included) of its exported types. A program that uses the
/// API needs every one of them.
/// </summary>
internal static class PublicApi
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static IReadOnlySet<string> AssembliesNamedBy(Assembly assembly)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Type type in assembly.GetExportedTypes())
        {
            Add(names, type.BaseType);
            foreach (Type i in type.GetInterfaces())
                Add(names, i);
            foreach (MemberInfo member in type.GetMembers(Declared).Where(Visible))
            {
                switch (member)
                {
                    case FieldInfo f:
                        Add(names, f.FieldType);
                        break;
                    case PropertyInfo p:
                        Add(names, p.PropertyType);
                        break;
                    case EventInfo e:
                        Add(names, e.EventHandlerType);
                        break;
                    case MethodBase m:
                        if (m is MethodInfo method)
                            Add(names, method.ReturnType);
                        foreach (ParameterInfo parameter in m.GetParameters())
                            Add(names, parameter.ParameterType);
                        break;
                }
            }
        }
        return names;
    }

    private static bool Visible(MemberInfo member) => member switch
    {
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily || add.IsFamilyOrAssembly),
        _ => false, // nested types are exported types of their own
    };

    private static void Add(HashSet<string> names, Type? type)
    {
        if (type is null || type.IsGenericParameter)
            return;
        if (type.HasElementType)
        {
            Add(names, type.GetElementType());
            return;
        }
        names.Add(type.Assembly.GetName().Name!);
        if (type.IsGenericType)
            foreach (Type argument in type.GetGenericArguments())
                Add(names, argument);
    }
}
