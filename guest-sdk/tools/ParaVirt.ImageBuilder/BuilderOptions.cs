using System;
using System.Globalization;
using ParaVirt.Image;

namespace ParaVirt.ImageBuilder;

/// <summary>The builder's parsed command line.</summary>
internal sealed class BuilderOptions
{
    public string? IlcPath { get; private set; }
    public string? InputAssembly { get; private set; }
    public string? Corelib { get; private set; }
    public string ObjectPath { get; private set; } = "";
    public string OutputPath { get; private set; } = "";
    public string? MapPath { get; private set; }
    public string? DebugElfPath { get; private set; }
    public string EntrySymbol { get; private set; } = LinkOptions.DefaultEntrySymbol;
    public ulong LoadAddress { get; private set; } = LinkOptions.DefaultLoadAddress;
    public string? IlcArguments { get; private set; }

    public static BuilderOptions Parse(string[] args)
    {
        var o = new BuilderOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
                throw new ImageBuildException($"option {name} needs a value");
            string value = args[++i];
            switch (name)
            {
                case "--ilc": o.IlcPath = value; break;
                case "--input": o.InputAssembly = value; break;
                case "--corelib": o.Corelib = value; break;
                case "--object": o.ObjectPath = value; break;
                case "--output": o.OutputPath = value; break;
                case "--map": o.MapPath = value; break;
                case "--debug-elf": o.DebugElfPath = value; break;
                case "--entry": o.EntrySymbol = value; break;
                case "--ilc-args": o.IlcArguments = value; break;
                case "--load-address": o.LoadAddress = ParseAddress(value); break;
                default: throw new ImageBuildException($"unknown option {name}");
            }
        }
        if (o.ObjectPath.Length == 0 || o.OutputPath.Length == 0)
            throw new ImageBuildException("usage: ParaVirt.ImageBuilder [--ilc PATH --input GUEST.dll --corelib RUNTIME.dll] --object OUT.o --output OUT.pvimg [--map OUT.map] [--debug-elf OUT.pvimg.elf] [--entry SYMBOL] [--load-address ADDRESS]");
        if (o.IlcPath is not null && (o.InputAssembly is null || o.Corelib is null))
            throw new ImageBuildException("--ilc needs --input and --corelib");
        return o;
    }

    private static ulong ParseAddress(string text)
    {
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
            throw new ImageBuildException($"--load-address '{text}' is not a number (decimal or 0x hex)");
        return value;
    }
}
