using System;
using ParaVirt.Image;

namespace ParaVirt.ImageBuilder;

/// <summary>
/// Command line: <c>ParaVirt.ImageBuilder --ilc PATH --input GUEST.dll --corelib RUNTIME.dll
/// --object OUT.o --output OUT.pvimg [--map OUT.map] [--debug-elf OUT.pvimg.elf] [--entry SYMBOL] [--load-address 0x200000]
/// [--ilc-args "..."]</c>, or <c>--object IN.o --output OUT.pvimg</c> alone to link an existing
/// object. Errors print as one line <c>error PV0001: ...</c> (MSBuild shows them as build errors)
/// and exit with code 1.
/// </summary>
public static class Program
{
    /// <summary>Runs the builder.</summary>
    public static int Main(string[] args)
    {
        try
        {
            BuilderOptions options = BuilderOptions.Parse(args);
            if (options.IlcPath is not null)
                IlcRunner.Compile(options.IlcPath, options.InputAssembly!, options.Corelib!, options.ObjectPath, options.IlcArguments);
            LinkResult result = ElfLinker.LinkFile(options.ObjectPath, new LinkOptions
            {
                LoadAddress = options.LoadAddress,
                EntrySymbol = options.EntrySymbol,
            });
            PvImageWriter.WriteFile(result.Image, options.OutputPath);
            if (options.MapPath is not null)
                System.IO.File.WriteAllText(options.MapPath, result.Map);
            if (options.DebugElfPath is not null)
                DebugElfWriter.WriteFile(result.Debug!, options.DebugElfPath);
            return 0;
        }
        catch (Exception ex) when (ex is ImageBuildException or InvalidImageException or System.IO.IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error PV0001: {ex.Message}");
            return 1;
        }
    }
}
