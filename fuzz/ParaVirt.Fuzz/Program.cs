using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Fuzz.Targets;
using SharpFuzz;

namespace ParaVirt.Fuzz;

/// <summary>The AFL++ driver: see docs/fuzzing.md.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0 || !FuzzTargetsContain(args[0]))
        {
            Console.Error.WriteLine($"usage: ParaVirt.Fuzz TARGET                 run under afl-fuzz (SharpFuzz persistent mode)");
            Console.Error.WriteLine($"       ParaVirt.Fuzz TARGET replay PATH...    run files or folders once, print failures");
            Console.Error.WriteLine($"       ParaVirt.Fuzz TARGET seeds DIR         write the built-in seed inputs to DIR");
            Console.Error.WriteLine($"targets: {string.Join(", ", FuzzTargets.Names)}");
            return 2;
        }
        // Instrumented assemblies record coverage in SharpFuzz's map, which only Fuzzer.Run maps:
        // until then (a target's constructor, replay) they get a scratch map to write to.
        unsafe
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        }
        using IFuzzTarget target = FuzzTargets.Create(args[0]);
        if (args.Length > 1 && args[1] == "replay")
            return Replay(target, args[2..]);
        if (args.Length > 2 && args[1] == "seeds")
        {
            Directory.CreateDirectory(args[2]);
            foreach ((string name, byte[] bytes) in SeedCorpus.For(target.Name))
                File.WriteAllBytes(Path.Combine(args[2], name), bytes);
            return 0;
        }
        // Persistent mode: one process runs input after input; an exception escaping Run is a crash.
        byte[] buffer = new byte[1 << 20];
        Fuzzer.Run(stream =>
        {
            int length = 0, n;
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0)
                length += n;
            target.Run(buffer.AsSpan(0, length));
        });
        return 0;
    }

    private static bool FuzzTargetsContain(string name) => ((IList<string>)FuzzTargets.Names).Contains(name);

    private static int Replay(IFuzzTarget target, string[] paths)
    {
        int failed = 0, passed = 0;
        foreach (string path in paths)
        {
            IEnumerable<string> files = Directory.Exists(path) ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories) : [path];
            foreach (string file in files)
            {
                try
                {
                    target.Run(File.ReadAllBytes(file));
                    passed++;
                }
                catch (Exception ex)
                {
                    failed++;
                    Console.WriteLine($"FAIL {file}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
        Console.WriteLine($"{target.Name}: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
