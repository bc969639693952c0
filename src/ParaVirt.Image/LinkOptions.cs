namespace ParaVirt.Image;

/// <summary>How <see cref="ElfLinker"/> lays an image out.</summary>
/// <example><code>var options = new LinkOptions { LoadAddress = 0x400000, EntrySymbol = "kernel_start" };</code></example>
public sealed class LinkOptions
{
    /// <summary>The default load address: the start of guest RAM on every ParaVirt engine (2 MiB).</summary>
    public const ulong DefaultLoadAddress = 0x200000;

    /// <summary>The symbol the guest SDK's generated entry thunk exports.</summary>
    public const string DefaultEntrySymbol = "__paravirt_entry";

    /// <summary>Where the image is linked (page aligned).</summary>
    public ulong LoadAddress { get; init; } = DefaultLoadAddress;

    /// <summary>The global symbol that becomes the image's entry point.</summary>
    public string EntrySymbol { get; init; } = DefaultEntrySymbol;
}
