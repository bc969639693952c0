using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ParaVirt.Image;

/// <summary>Formats a link map: the image's sections and its global symbols, by address.</summary>
/// <example><code>File.WriteAllText("Hello.map", LinkMap.Format(result.Image, result.Symbols));</code></example>
public static class LinkMap
{
    /// <summary>The map text.</summary>
    public static string Format(PvImage image, IReadOnlyDictionary<string, ulong> symbols)
    {
        var text = new StringBuilder();
        text.AppendLine($"entry 0x{image.Entry:x}  load 0x{image.LoadAddress:x}  memory 0x{image.MemorySize:x}  abi 0x{image.AbiVersion:x}");
        text.AppendLine("sections:");
        foreach (PvSection s in image.Sections)
            text.AppendLine($"  0x{s.Address:x8} 0x{s.MemorySize:x6} {Flags(s.Permissions)} {s.Name} (file {s.Data.Length} bytes)");
        text.AppendLine("symbols:");
        foreach ((string name, ulong address) in symbols.OrderBy(p => p.Value).ThenBy(p => p.Key, System.StringComparer.Ordinal))
            text.AppendLine($"  0x{address:x8} {name}");
        return text.ToString();
    }

    private static string Flags(SectionPermissions p) =>
        $"{((p & SectionPermissions.Read) != 0 ? 'r' : '-')}{((p & SectionPermissions.Write) != 0 ? 'w' : '-')}{((p & SectionPermissions.Execute) != 0 ? 'x' : '-')}";
}
