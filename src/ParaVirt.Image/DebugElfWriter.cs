using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ParaVirt.Image;

/// <summary>
/// Writes the debug companion of an image: a minimal ELF64 x86-64 executable (<c>ET_EXEC</c>) whose
/// loadable sections are the image's sections at their guest addresses, followed by ilc's DWARF
/// sections (relocated by <see cref="ElfLinker"/>), a symbol table and its string tables. gdb, readelf
/// and objdump read it as they read any static executable; the guest build writes it beside the
/// image as <c>&lt;name&gt;.pvimg.elf</c>. The image itself never carries any of it.
/// </summary>
/// <example><code>
/// LinkResult result = ElfLinker.LinkFile("obj/Hello.o", new LinkOptions());
/// File.WriteAllBytes("Hello.pvimg.elf", DebugElfWriter.Write(result.Debug!));
/// </code></example>
public static class DebugElfWriter
{
    /// <summary>The suffix the guest build appends to the image path: <c>Hello.pvimg</c> gets <c>Hello.pvimg.elf</c>.</summary>
    public const string Suffix = ".elf";

    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;
    private const uint ShtProgBits = 1, ShtSymTab = 2, ShtStrTab = 3, ShtNoBits = 8;
    private const ulong ShfWrite = 1, ShfAlloc = 2, ShfExec = 4;
    private const ushort ShnAbsolute = 0xFFF1;

    /// <summary>Writes the ELF file for <paramref name="debug"/> to <paramref name="path"/>.</summary>
    public static void WriteFile(DebugInfo debug, string path) => File.WriteAllBytes(path, Write(debug));

    /// <summary>The ELF file's bytes for <paramref name="debug"/>.</summary>
    public static byte[] Write(DebugInfo debug)
    {
        ArgumentNullException.ThrowIfNull(debug);
        IReadOnlyList<PvSection> loaded = debug.Image.Sections;
        var shstrtab = new StringTable();
        var strtab = new StringTable();
        var headers = new List<SectionHeader> { new(0, 0, 0, 0, [], 0, 0, 0, 0, 0) };

        // Loadable sections first (indices 1..n), so that symbols can name them.
        foreach (PvSection s in loaded)
        {
            ulong flags = ShfAlloc | ((s.Permissions & SectionPermissions.Write) != 0 ? ShfWrite : 0) | ((s.Permissions & SectionPermissions.Execute) != 0 ? ShfExec : 0);
            bool bss = s.Data.Length == 0;
            byte[] data = bss ? [] : Padded(s.Data, s.MemorySize);
            headers.Add(new SectionHeader(shstrtab.Add(s.Name), bss ? ShtNoBits : ShtProgBits, flags, s.Address, data, s.MemorySize, 0, 0, 16, 0));
        }
        foreach (DebugSection d in debug.Sections)
            headers.Add(new SectionHeader(shstrtab.Add(d.Name), ShtProgBits, 0, 0, d.Data, (ulong)d.Data.Length, 0, 0, 1, 0));

        // Symbols: the null symbol, locals, then globals (sh_info names the first global).
        var symbols = new MemoryStream();
        symbols.Write(new byte[SymbolSize]);
        int firstGlobal = 1;
        var entry = new byte[SymbolSize];
        foreach (bool global in new[] { false, true })
        {
            foreach (DebugSymbol sym in debug.Symbols.Where(s => s.IsGlobal == global))
            {
                int section = -1;
                for (int i = 0; i < loaded.Count; i++)
                {
                    if (loaded[i].Contains(sym.Address) || (sym.Address == loaded[i].End && loaded[i].MemorySize == 0))
                    {
                        section = i + 1;
                        break;
                    }
                }
                Array.Clear(entry);
                BinaryPrimitives.WriteUInt32LittleEndian(entry, strtab.Add(sym.Name));
                entry[4] = (byte)(((global ? 1 : 0) << 4) | (sym.IsFunction ? 2 : 1));
                BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(6), section < 0 ? ShnAbsolute : (ushort)section);
                BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8), sym.Address);
                BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(16), sym.Size);
                symbols.Write(entry);
                if (!global)
                    firstGlobal++;
            }
        }
        int symtabIndex = headers.Count;
        uint symtabName = shstrtab.Add(".symtab");
        uint strtabName = shstrtab.Add(".strtab");
        uint shstrtabName = shstrtab.Add(".shstrtab");
        headers.Add(new SectionHeader(symtabName, ShtSymTab, 0, 0, symbols.ToArray(), (ulong)symbols.Length, (uint)symtabIndex + 1, (uint)firstGlobal, 8, SymbolSize));
        headers.Add(new SectionHeader(strtabName, ShtStrTab, 0, 0, strtab.ToArray(), (ulong)strtab.Length, 0, 0, 1, 0));
        headers.Add(new SectionHeader(shstrtabName, ShtStrTab, 0, 0, shstrtab.ToArray(), (ulong)shstrtab.Length, 0, 0, 1, 0));

        // File layout: header, program headers (one PT_LOAD per loaded section), section bytes, section headers.
        int phnum = loaded.Count;
        ulong offset = (ulong)(HeaderSize + phnum * ProgramHeaderSize);
        var offsets = new ulong[headers.Count];
        for (int i = 1; i < headers.Count; i++)
        {
            SectionHeader h = headers[i];
            ulong alignment = Math.Max(1, h.Alignment);
            if (h.Address != 0)
                offset += (h.Address - offset) % alignment; // p_offset ≡ p_vaddr (mod p_align)
            else
                offset = (offset + alignment - 1) / alignment * alignment;
            offsets[i] = offset;
            offset += (ulong)h.Data.Length;
        }
        ulong shoff = (offset + 7) / 8 * 8;
        var file = new byte[shoff + (ulong)(headers.Count * SectionHeaderSize)];
        Span<byte> f = file;

        // ELF header.
        "\u007FELF"u8.CopyTo(f);
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // little endian
        f[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(f[16..], 2);  // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(f[18..], 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(f[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(f[24..], debug.Image.Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(f[32..], HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(f[40..], shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(f[52..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[56..], (ushort)phnum);
        BinaryPrimitives.WriteUInt16LittleEndian(f[58..], SectionHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[60..], (ushort)headers.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(f[62..], (ushort)(headers.Count - 1)); // .shstrtab is last

        for (int i = 0; i < phnum; i++)
        {
            PvSection s = loaded[i];
            SectionHeader h = headers[i + 1];
            Span<byte> p = f.Slice(HeaderSize + (i * ProgramHeaderSize), ProgramHeaderSize);
            uint pflags = ((s.Permissions & SectionPermissions.Execute) != 0 ? 1u : 0) | ((s.Permissions & SectionPermissions.Write) != 0 ? 2u : 0) | ((s.Permissions & SectionPermissions.Read) != 0 ? 4u : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(p, 1); // PT_LOAD
            BinaryPrimitives.WriteUInt32LittleEndian(p[4..], pflags);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], offsets[i + 1]);
            BinaryPrimitives.WriteUInt64LittleEndian(p[16..], s.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], s.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(p[32..], (ulong)h.Data.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(p[40..], s.MemorySize);
            BinaryPrimitives.WriteUInt64LittleEndian(p[48..], h.Alignment);
        }
        for (int i = 0; i < headers.Count; i++)
        {
            SectionHeader h = headers[i];
            h.Data.CopyTo(f[(int)offsets[i]..]);
            Span<byte> e = f.Slice((int)shoff + (i * SectionHeaderSize), SectionHeaderSize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, h.Name);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], h.Type);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], h.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], h.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[24..], i == 0 ? 0 : offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(e[32..], h.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[40..], h.Link);
            BinaryPrimitives.WriteUInt32LittleEndian(e[44..], h.Info);
            BinaryPrimitives.WriteUInt64LittleEndian(e[48..], h.Alignment);
            BinaryPrimitives.WriteUInt64LittleEndian(e[56..], h.EntrySize);
        }
        return file;
    }

    private static byte[] Padded(byte[] data, ulong size)
    {
        if ((ulong)data.Length >= size)
            return data;
        var padded = new byte[size];
        data.CopyTo(padded, 0);
        return padded;
    }

    private sealed record SectionHeader(uint Name, uint Type, ulong Flags, ulong Address, byte[] Data, ulong Size, uint Link, uint Info, ulong Alignment, ulong EntrySize);

    /// <summary>An ELF string table: a leading NUL, then NUL-terminated names.</summary>
    private sealed class StringTable
    {
        private readonly MemoryStream _bytes = new();
        private readonly Dictionary<string, uint> _offsets = new(StringComparer.Ordinal);

        public StringTable() => _bytes.WriteByte(0);

        public long Length => _bytes.Length;

        public uint Add(string name)
        {
            if (_offsets.TryGetValue(name, out uint existing))
                return existing;
            uint offset = (uint)_bytes.Length;
            _bytes.Write(Encoding.UTF8.GetBytes(name));
            _bytes.WriteByte(0);
            _offsets[name] = offset;
            return offset;
        }

        public byte[] ToArray() => _bytes.ToArray();
    }
}
