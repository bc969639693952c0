using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ParaVirt.Image;

/// <summary>
/// The address-to-line map of a <c>.debug_line</c> section (DWARF 2 to 4 line-number programs, as
/// ilc writes them), decoded into sorted rows. Malformed input ends the decoding of that unit:
/// the rows decoded so far stay, nothing throws past <see cref="Parse"/>.
/// </summary>
/// <example><code>
/// var lines = DwarfLineTable.Parse(debugLineBytes);
/// if (lines.TryFind(0x2003f0, out string file, out int line)) Console.WriteLine($"{file}:{line}");
/// </code></example>
public sealed class DwarfLineTable
{
    private readonly List<Row> _rows;

    private DwarfLineTable(List<Row> rows) => _rows = rows;

    /// <summary>Rows decoded (address, file, line; end-of-sequence rows included).</summary>
    public int Count => _rows.Count;

    /// <summary>Decodes every unit of <paramref name="section"/>.</summary>
    public static DwarfLineTable Parse(ReadOnlySpan<byte> section)
    {
        var rows = new List<Row>();
        int offset = 0;
        while (offset + 4 <= section.Length)
        {
            uint unitLength = BinaryPrimitives.ReadUInt32LittleEndian(section[offset..]);
            if (unitLength == 0xFFFF_FFFF || unitLength > (uint)(section.Length - offset - 4))
                break; // 64-bit DWARF (ilc does not write it) or truncated
            ReadOnlySpan<byte> unit = section.Slice(offset + 4, (int)unitLength);
            try
            {
                DecodeUnit(unit, rows);
            }
            catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException)
            {
                // A malformed unit: keep what was decoded.
            }
            offset += 4 + (int)unitLength;
        }
        rows.Sort((a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address) : a.EndSequence.CompareTo(b.EndSequence));
        return new DwarfLineTable(rows);
    }

    /// <summary>The file and line of the row covering <paramref name="address"/>.</summary>
    public bool TryFind(ulong address, out string file, out int line)
    {
        file = "";
        line = 0;
        int lo = 0, hi = _rows.Count - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (_rows[mid].Address <= address)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        // Skip back over end-of-sequence rows at the same address: they close the previous range.
        while (best >= 0 && _rows[best].EndSequence)
        {
            if (_rows[best].Address <= address)
                return false; // address lies after a sequence ended and before the next began
            best--;
        }
        if (best < 0)
            return false;
        file = _rows[best].File;
        line = _rows[best].Line;
        return true;
    }

    private static void DecodeUnit(ReadOnlySpan<byte> unit, List<Row> rows)
    {
        int p = 0;
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(unit);
        p += 2;
        if (version is < 2 or > 4)
            throw new InvalidDataException($"DWARF line table version {version}");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(unit[p..]);
        p += 4;
        int program = p + (int)headerLength;
        byte minInstructionLength = unit[p++];
        if (version >= 4)
            p++; // maximum operations per instruction (1 on x86)
        bool defaultIsStmt = unit[p++] != 0;
        _ = defaultIsStmt;
        sbyte lineBase = (sbyte)unit[p++];
        byte lineRange = unit[p++];
        byte opcodeBase = unit[p++];
        if (lineRange == 0)
            throw new InvalidDataException("line range 0");
        var standardLengths = new byte[Math.Max(0, opcodeBase - 1)];
        for (int i = 0; i < standardLengths.Length; i++)
            standardLengths[i] = unit[p++];
        var directories = new List<string> { "" };
        while (unit[p] != 0)
            directories.Add(CString(unit, ref p));
        p++;
        var files = new List<string> { "" };
        while (unit[p] != 0)
        {
            string name = CString(unit, ref p);
            int dir = (int)Leb128.ReadUnsigned(unit, ref p);
            _ = Leb128.ReadUnsigned(unit, ref p); // mtime
            _ = Leb128.ReadUnsigned(unit, ref p); // length
            files.Add(dir > 0 && dir < directories.Count && !name.StartsWith('/') ? directories[dir] + "/" + name : name);
        }
        p = program;

        ulong address = 0;
        int file = 1, line = 1;
        while (p < unit.Length)
        {
            byte op = unit[p++];
            if (op >= opcodeBase)
            {
                int adjusted = op - opcodeBase;
                address += (ulong)(adjusted / lineRange * minInstructionLength);
                line += lineBase + (adjusted % lineRange);
                rows.Add(new Row(address, FileName(files, file), line, false));
                continue;
            }
            switch (op)
            {
                case 0: // extended
                {
                    ulong length = Leb128.ReadUnsigned(unit, ref p);
                    if (length == 0 || length > (ulong)(unit.Length - p))
                        throw new InvalidDataException("bad extended opcode length");
                    int end = p + (int)length;
                    byte sub = unit[p++];
                    if (sub == 1) // DW_LNE_end_sequence
                    {
                        rows.Add(new Row(address, "", 0, true));
                        address = 0;
                        file = 1;
                        line = 1;
                    }
                    else if (sub == 2 && length == 9) // DW_LNE_set_address
                    {
                        address = BinaryPrimitives.ReadUInt64LittleEndian(unit[p..]);
                    }
                    p = end;
                    break;
                }
                case 1: // DW_LNS_copy
                    rows.Add(new Row(address, FileName(files, file), line, false));
                    break;
                case 2: // advance_pc
                    address += Leb128.ReadUnsigned(unit, ref p) * minInstructionLength;
                    break;
                case 3: // advance_line
                    line += (int)Leb128.ReadSigned(unit, ref p);
                    break;
                case 4: // set_file
                    file = (int)Leb128.ReadUnsigned(unit, ref p);
                    break;
                case 5: // set_column
                    _ = Leb128.ReadUnsigned(unit, ref p);
                    break;
                case 6: // negate_stmt
                case 7: // set_basic_block
                case 10: // set_prologue_end
                case 11: // set_epilogue_begin
                    break;
                case 8: // const_add_pc
                    address += (ulong)((255 - opcodeBase) / lineRange * minInstructionLength);
                    break;
                case 9: // fixed_advance_pc
                    address += BinaryPrimitives.ReadUInt16LittleEndian(unit[p..]);
                    p += 2;
                    break;
                default:
                    // An opcode this decoder does not know: skip its ULEB operands.
                    for (int i = 0; i < standardLengths[op - 1]; i++)
                        _ = Leb128.ReadUnsigned(unit, ref p);
                    break;
            }
        }
    }

    private static string FileName(List<string> files, int index) => index > 0 && index < files.Count ? files[index] : "?";

    private static string CString(ReadOnlySpan<byte> data, ref int p)
    {
        int end = data[p..].IndexOf((byte)0);
        if (end < 0)
            throw new InvalidDataException("unterminated string");
        string s = Encoding.UTF8.GetString(data.Slice(p, end));
        p += end + 1;
        return s;
    }

    private readonly record struct Row(ulong Address, string File, int Line, bool EndSequence);
}
