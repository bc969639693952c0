using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using AbiVersion = ParaVirt.Abi.AbiVersion;

namespace ParaVirt.Image;

/// <summary>
/// A static linker for ilc's output: reads one ELF64 x86-64 relocatable object (ELFSharp), lays
/// its allocatable sections out at a fixed address (code, then read-only data, then writable data
/// and bss, each group page aligned), resolves symbols, applies the relocations
/// (<c>R_X86_64_64</c>, <c>PC32</c>, <c>PLT32</c>, <c>32</c>, <c>32S</c>), and returns a
/// <see cref="PvImage"/>. Symbols the object leaves undefined are provided by the linker when it
/// knows them (the CPU instruction stubs of <see cref="InstructionStubs"/>, <c>__security_cookie</c>,
/// <c>RhpTrapThreads</c>); any other is an <see cref="ImageBuildException"/> naming the C# feature
/// that needed it.
/// </summary>
/// <example><code>
/// LinkResult result = ElfLinker.LinkFile("obj/Hello.o", new LinkOptions { LoadAddress = 0x200000 });
/// PvImageWriter.WriteFile(result.Image, "Hello.pvimg");
/// </code></example>
public static class ElfLinker
{
    private const int RelaEntrySize = 24;
    private const ushort ShnUndef = 0;
    private const ushort ShnAbsolute = 0xFFF1;
    private const ushort ShnCommon = 0xFFF2;

    /// <summary>Links the object file at <paramref name="path"/>.</summary>
    public static LinkResult LinkFile(string path, LinkOptions options)
    {
        if (!File.Exists(path))
            throw new ImageBuildException($"{path}: no such object file");
        return Link(File.ReadAllBytes(path), options, Path.GetFileName(path));
    }

    /// <summary>Links the ELF object in <paramref name="elfBytes"/>; <paramref name="name"/> names it in messages.</summary>
    public static LinkResult Link(byte[] elfBytes, LinkOptions options, string name = "object")
    {
        ArgumentNullException.ThrowIfNull(elfBytes);
        ArgumentNullException.ThrowIfNull(options);
        if (options.LoadAddress % PvImageFormat.PageSize != 0)
            throw new ImageBuildException($"load address 0x{options.LoadAddress:x} is not page aligned");
        IELF elf;
        try
        {
            if (!ELFReader.TryLoad(new MemoryStream(elfBytes), true, out elf))
                throw new ImageBuildException($"{name}: not an ELF file");
        }
        catch (Exception ex) when (ex is not ImageBuildException)
        {
            throw new ImageBuildException($"{name}: unreadable ELF file ({ex.Message})", ex);
        }
        using (elf)
        {
            if (elf.Class != Class.Bit64 || elf.Machine != Machine.AMD64 || elf.Type != FileType.Relocatable)
                throw new ImageBuildException($"{name}: expected an x86-64 ELF64 relocatable object, got {elf.Class} {elf.Machine} {elf.Type}");
            return new Session(elf, options, name).Run();
        }
    }

    /// <summary>One link: the object's sections, their placement, and the symbol table.</summary>
    private sealed class Session
    {
        private readonly IELF _elf;
        private readonly LinkOptions _options;
        private readonly string _name;
        private readonly List<Placed> _placed = [];
        private readonly Dictionary<int, Placed> _bySectionIndex = [];
        private readonly Dictionary<string, ulong> _globals = new(StringComparer.Ordinal);
        private readonly List<DebugSection> _debug = [];
        private readonly Dictionary<string, DebugSection> _debugByName = new(StringComparer.Ordinal);

        public Session(IELF elf, LinkOptions options, string name)
        {
            _elf = elf;
            _options = options;
            _name = name;
        }

        public LinkResult Run()
        {
            var symtab = (ISymbolTable?)_elf.Sections.FirstOrDefault(s => s.Type == SectionType.SymbolTable)
                ?? throw new ImageBuildException($"{_name}: the object has no symbol table");
            List<SymbolEntry<ulong>> symbols = [.. symtab.Entries.Cast<SymbolEntry<ulong>>()];

            // The symbols the object needs but does not define, and what the linker provides.
            var undefined = new SortedSet<string>(StringComparer.Ordinal);
            var defined = new HashSet<string>(StringComparer.Ordinal);
            foreach (SymbolEntry<ulong> s in symbols)
            {
                if (s.Name.Length == 0 || s.Type == SymbolType.File)
                    continue;
                if (s.PointedSectionIndex == ShnUndef)
                    undefined.Add(s.Name);
                else if (s.Binding != SymbolBinding.Local)
                    defined.Add(s.Name);
            }
            undefined.ExceptWith(defined);
            byte[] stubs = BuildStubs(undefined, out Dictionary<string, ulong> stubOffsets);
            byte[] linkerData = BuildLinkerData(undefined, out Dictionary<string, ulong> dataOffsets);
            ReportUnresolved(undefined, stubOffsets, dataOffsets);

            Layout(stubs, linkerData);
            foreach ((string symbol, ulong offset) in stubOffsets)
                _globals[symbol] = _placed.First(p => p.Name == ".pvstubs").Address + offset;
            foreach ((string symbol, ulong offset) in dataOffsets)
                _globals[symbol] = _placed.First(p => p.Name == ".pvdata").Address + offset;

            CollectDebugSections();
            var addresses = new ulong[symbols.Count];
            for (int i = 0; i < symbols.Count; i++)
                addresses[i] = Resolve(symbols[i]);
            ApplyRelocations(symbols, addresses);

            if (!_globals.TryGetValue(_options.EntrySymbol, out ulong entry))
                throw new ImageBuildException($"{_name}: the entry symbol '{_options.EntrySymbol}' is not defined (does the guest set <ParaVirtEntryPoint>?)");
            Placed last = _placed[^1];
            ulong memorySize = AlignUp(last.Address + last.Size, PvImageFormat.PageSize) - _options.LoadAddress;
            var sections = _placed.Select(p => new PvSection(p.Name, p.Address, p.Size, p.Permissions, p.Data)).ToList();
            var image = new PvImage(AbiVersion.Current, entry, _options.LoadAddress, memorySize, sections);
            var debug = new DebugInfo(image, _debug, CollectSymbols(symbols, addresses, stubOffsets, dataOffsets));
            return new LinkResult(image, _globals, LinkMap.Format(image, _globals)) { Debug = debug };
        }

        /// <summary>
        /// The object's DWARF sections (<c>.debug_*</c>, not loaded): copied so that their
        /// relocations can be applied at the final addresses. A debug section's own address is 0,
        /// so a reference from one debug section into another stays a section offset.
        /// </summary>
        private void CollectDebugSections()
        {
            var sections = _elf.Sections;
            for (int i = 0; i < sections.Count; i++)
            {
                ISection s = sections[i];
                if ((s.Flags & SectionFlags.Allocatable) != 0 || s.Type != SectionType.ProgBits || !s.Name.StartsWith(".debug_", StringComparison.Ordinal))
                    continue;
                var section = new DebugSection(s.Name, s.GetContents());
                _debug.Add(section);
                _debugByName[s.Name] = section;
            }
        }

        /// <summary>Function and data symbols at their final addresses, for the debug ELF's symbol table.</summary>
        private List<DebugSymbol> CollectSymbols(List<SymbolEntry<ulong>> symbols, ulong[] addresses, Dictionary<string, ulong> stubs, Dictionary<string, ulong> data)
        {
            var result = new List<DebugSymbol>();
            var seen = new HashSet<(string, ulong)>();
            for (int i = 0; i < symbols.Count; i++)
            {
                SymbolEntry<ulong> s = symbols[i];
                if (s.Name.Length == 0 || s.Type is not (SymbolType.Function or SymbolType.Object) || !_bySectionIndex.ContainsKey(s.PointedSectionIndex))
                    continue;
                if (seen.Add((s.Name, addresses[i])))
                    result.Add(new DebugSymbol(s.Name, addresses[i], s.Size, s.Type == SymbolType.Function, s.Binding != SymbolBinding.Local));
            }
            ulong stubBase = _placed.FirstOrDefault(p => p.Name == ".pvstubs")?.Address ?? 0;
            foreach ((string name, ulong offset) in stubs.OrderBy(p => p.Value))
                result.Add(new DebugSymbol(name, stubBase + offset, 0, true, true));
            ulong dataBase = _placed.FirstOrDefault(p => p.Name == ".pvdata")?.Address ?? 0;
            foreach ((string name, ulong offset) in data.OrderBy(p => p.Value))
                result.Add(new DebugSymbol(name, dataBase + offset, 8, false, true));
            result.Sort((a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address) : string.CompareOrdinal(a.Name, b.Name));
            return result;
        }

        private static byte[] BuildStubs(SortedSet<string> undefined, out Dictionary<string, ulong> offsets)
        {
            offsets = new Dictionary<string, ulong>(StringComparer.Ordinal);
            using var code = new MemoryStream();
            foreach (string symbol in undefined)
            {
                if (!InstructionStubs.TryAssemble(symbol, out byte[] bytes))
                    continue;
                while (code.Length % 16 != 0)
                    code.WriteByte(0xCC); // int3 between stubs
                offsets[symbol] = (ulong)code.Length;
                code.Write(bytes);
            }
            return code.ToArray();
        }

        private static byte[] BuildLinkerData(SortedSet<string> undefined, out Dictionary<string, ulong> offsets)
        {
            offsets = new Dictionary<string, ulong>(StringComparer.Ordinal);
            var data = new List<byte>();
            if (undefined.Contains("__security_cookie"))
            {
                // The stack canary: a fixed non-zero value (a guest has no secret to hide it from).
                offsets["__security_cookie"] = (ulong)data.Count;
                data.AddRange(BitConverter.GetBytes(0x2B992DDFA232_5EEDUL));
            }
            if (undefined.Contains("RhpTrapThreads"))
            {
                // ilc's inline GC-poll flag: zero forever (one thread, no GC).
                offsets["RhpTrapThreads"] = (ulong)data.Count;
                data.AddRange(new byte[8]);
            }
            return [.. data];
        }

        private void ReportUnresolved(SortedSet<string> undefined, Dictionary<string, ulong> stubs, Dictionary<string, ulong> data)
        {
            List<string> missing = [.. undefined.Where(s => !stubs.ContainsKey(s) && !data.ContainsKey(s))];
            if (missing.Count == 0)
                return;
            var text = new StringBuilder($"{_name}: undefined symbol{(missing.Count > 1 ? "s" : "")} ");
            for (int i = 0; i < missing.Count; i++)
            {
                if (i > 0)
                    text.Append(", ");
                text.Append(missing[i]);
                if (UnsupportedFeatureHints.Describe(missing[i]) is { } feature)
                    text.Append($" (needed for {feature}, which a ParaVirt guest does not support)");
                else if (missing[i].StartsWith(InstructionStubs.Prefix, StringComparison.Ordinal))
                    text.Append(" (no such CPU instruction stub)");
            }
            throw new ImageBuildException(text.ToString());
        }

        private void Layout(byte[] stubs, byte[] linkerData)
        {
            var sections = _elf.Sections;
            var groups = new List<(int Rank, int Index, ISection Section)>();
            for (int i = 0; i < sections.Count; i++)
            {
                ISection s = sections[i];
                if ((s.Flags & SectionFlags.Allocatable) == 0 || Size(s) == 0)
                    continue;
                groups.Add((Rank(s), i, s));
            }
            ulong address = _options.LoadAddress;
            int currentRank = -1;
            foreach (int rank in new[] { 0, 1, 2, 3 })
            {
                var members = groups.Where(g => g.Rank == rank).ToList();
                bool addStubs = rank == 0 && stubs.Length > 0;
                bool addData = rank == 2 && linkerData.Length > 0;
                if (members.Count == 0 && !addStubs && !addData)
                    continue;
                if (currentRank >= 0)
                    address = AlignUp(address, PvImageFormat.PageSize);
                currentRank = rank;
                foreach ((_, int index, ISection s) in members)
                {
                    address = AlignUp(address, Math.Max(Alignment(s), 16));
                    byte[] data = s.Type == SectionType.NoBits ? [] : s.GetContents();
                    var placed = new Placed(s.Name, address, Size(s), Permissions(s), data);
                    _placed.Add(placed);
                    _bySectionIndex[index] = placed;
                    address += placed.Size;
                }
                if (addStubs)
                {
                    address = AlignUp(address, 16);
                    _placed.Add(new Placed(".pvstubs", address, (ulong)stubs.Length, SectionPermissions.Read | SectionPermissions.Execute, stubs));
                    address += (ulong)stubs.Length;
                }
                if (addData)
                {
                    address = AlignUp(address, 16);
                    _placed.Add(new Placed(".pvdata", address, (ulong)linkerData.Length, SectionPermissions.Read | SectionPermissions.Write, linkerData));
                    address += (ulong)linkerData.Length;
                }
            }
            if (_placed.Count == 0)
                throw new ImageBuildException($"{_name}: the object has no code or data");
            // bss sections come last in their group; data sections after a bss one would need
            // their own zero fill, which PvSection expresses, so any order is valid.
        }

        private ulong Resolve(SymbolEntry<ulong> s)
        {
            if (s.Name.Length == 0 && s.PointedSectionIndex == ShnUndef)
                return 0; // the null symbol (index 0)
            // The raw st_shndx: ELFSharp 2.17 reports SHN_UNDEF (0) as "special: Absolute", so the
            // special indices are decoded here.
            switch (s.PointedSectionIndex)
            {
                case ShnUndef:
                    return _globals.TryGetValue(s.Name, out ulong provided)
                        ? provided
                        : throw new ImageBuildException($"{_name}: undefined symbol {s.Name}");
                case ShnAbsolute:
                    return s.Value;
                case ShnCommon:
                    throw new ImageBuildException($"{_name}: common symbol {s.Name} is not supported");
            }
            if (!_bySectionIndex.TryGetValue(s.PointedSectionIndex, out Placed? section))
                return s.Value; // a section that is not loaded (debug info): its address is 0, the symbol's value an offset in it
            ulong address = section.Address + s.Value;
            if (s.Binding != SymbolBinding.Local && s.Name.Length > 0)
                _globals[s.Name] = address;
            return address;
        }

        private void ApplyRelocations(List<SymbolEntry<ulong>> symbols, ulong[] addresses)
        {
            var sections = _elf.Sections;
            for (int i = 0; i < sections.Count; i++)
            {
                ISection rela = sections[i];
                if (rela.Type != SectionType.RelocationAddends)
                    continue;
                if (rela.Type == SectionType.Relocation)
                    throw new ImageBuildException($"{_name}: REL relocations (section {rela.Name}) are not supported; expected RELA");
                string targetName = rela.Name.StartsWith(".rela", StringComparison.Ordinal) ? rela.Name[5..] : "";
                if (_debugByName.TryGetValue(targetName, out DebugSection? debugTarget))
                {
                    ApplyEntries(rela, symbols, addresses, debugTarget.Data, 0, debugTarget.Name);
                    continue;
                }
                Placed? target = _placed.FirstOrDefault(p => p.Name == targetName && _bySectionIndex.ContainsValue(p));
                if (target is null)
                {
                    if (sections.Any(s => s.Name == targetName && (s.Flags & SectionFlags.Allocatable) != 0 && Size(s) != 0))
                        throw new ImageBuildException($"{_name}: cannot match relocation section {rela.Name} to its target");
                    continue; // relocations for a section that is not loaded
                }
                ApplyEntries(rela, symbols, addresses, target.Data, target.Address, target.Name);
            }
        }

        private void ApplyEntries(ISection rela, List<SymbolEntry<ulong>> symbols, ulong[] addresses, byte[] targetData, ulong targetAddress, string targetName)
        {
            byte[] entries = rela.GetContents();
            for (int offset = 0; offset + RelaEntrySize <= entries.Length; offset += RelaEntrySize)
            {
                ulong where = BinaryPrimitives.ReadUInt64LittleEndian(entries.AsSpan(offset));
                ulong info = BinaryPrimitives.ReadUInt64LittleEndian(entries.AsSpan(offset + 8));
                long addend = BinaryPrimitives.ReadInt64LittleEndian(entries.AsSpan(offset + 16));
                int symbolIndex = (int)(info >> 32);
                uint type = (uint)info;
                if (symbolIndex >= symbols.Count)
                    throw new ImageBuildException($"{_name}: relocation in {rela.Name} names symbol #{symbolIndex}, past the symbol table");
                Relocator.Apply(targetData, targetAddress, where, type, addresses[symbolIndex], addend, symbols[symbolIndex].Name, $"{_name}: {targetName}+0x{where:x}");
            }
        }

        private static int Rank(ISection s)
        {
            if ((s.Flags & SectionFlags.Executable) != 0)
                return 0;
            if ((s.Flags & SectionFlags.Writable) == 0)
                return 1;
            return s.Type == SectionType.NoBits ? 3 : 2;
        }

        private static SectionPermissions Permissions(ISection s)
        {
            var p = SectionPermissions.Read;
            if ((s.Flags & SectionFlags.Writable) != 0)
                p |= SectionPermissions.Write;
            if ((s.Flags & SectionFlags.Executable) != 0)
                p |= SectionPermissions.Execute;
            return p;
        }

        private static ulong Size(ISection s) => ((Section<ulong>)s).Size;

        private static ulong Alignment(ISection s) => Math.Max(1, ((Section<ulong>)s).Alignment);
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) / alignment * alignment;

    /// <summary>A section placed in the image.</summary>
    private sealed record Placed(string Name, ulong Address, ulong Size, SectionPermissions Permissions, byte[] Data);
}
