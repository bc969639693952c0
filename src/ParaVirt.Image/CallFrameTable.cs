using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;

namespace ParaVirt.Image;

/// <summary>
/// Where a frame's caller state is at one program counter, from the call frame information:
/// the canonical frame address (CFA) is register <see cref="CfaRegister"/> (DWARF numbering: 6 RBP,
/// 7 RSP) plus <see cref="CfaOffset"/>; the return address is at CFA + <see cref="ReturnAddressOffset"/>;
/// the caller's RBP at CFA + <see cref="RbpOffset"/> when the frame saved it, else unchanged.
/// </summary>
/// <param name="CfaRegister">6 (RBP) or 7 (RSP).</param>
/// <param name="CfaOffset">Added to the register's value.</param>
/// <param name="ReturnAddressOffset">Where the return address is, from the CFA (−8 on x86-64).</param>
/// <param name="RbpOffset">Where the caller's RBP is saved, from the CFA, or null when RBP is not saved (yet).</param>
public readonly record struct CallFrameRule(int CfaRegister, long CfaOffset, long ReturnAddressOffset, long? RbpOffset);

/// <summary>
/// The <c>.eh_frame</c> of an image (ilc's call frame information, relocated by the linker), read
/// into one <see cref="CallFrameRule"/> lookup per address: CIEs and FDEs with the
/// <c>zLR</c>/<c>zR</c> augmentations and pointer encodings ilc uses (absolute or PC-relative,
/// 4 or 8 bytes), and the CFA instructions <c>advance_loc</c>, <c>def_cfa</c>,
/// <c>def_cfa_register</c>, <c>def_cfa_offset</c>, <c>offset</c>, <c>restore</c>,
/// <c>remember_state</c>/<c>restore_state</c> and <c>nop</c>. Anything else makes the lookup of
/// that function fail (the unwinder then stops), never an exception.
/// </summary>
public sealed class CallFrameTable
{
    private const int Rbp = 6, Rsp = 7, ReturnAddress = 16;
    private readonly byte[] _section;
    private readonly ulong _address;
    private readonly List<(ulong Start, ulong End, int Fde, int Cie)> _fdes = [];

    private CallFrameTable(byte[] section, ulong address)
    {
        _section = section;
        _address = address;
    }

    /// <summary>Functions (FDEs) found.</summary>
    public int Count => _fdes.Count;

    /// <summary>Indexes the <c>.eh_frame</c> bytes <paramref name="section"/> loaded at <paramref name="address"/>.</summary>
    public static CallFrameTable Parse(byte[] section, ulong address)
    {
        ArgumentNullException.ThrowIfNull(section);
        var table = new CallFrameTable(section, address);
        var cies = new Dictionary<int, Cie>();
        int offset = 0;
        try
        {
            while (offset + 4 <= section.Length)
            {
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(offset));
                if (length == 0 || length == 0xFFFF_FFFF || length > (uint)(section.Length - offset - 4))
                    break;
                int body = offset + 4;
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(body));
                if (id == 0)
                {
                    cies[offset] = table.ReadCie(body + 4, body + (int)length);
                }
                else
                {
                    int cieOffset = body - (int)id;
                    if (cies.TryGetValue(cieOffset, out Cie cie))
                    {
                        int p = body + 4;
                        ulong start = table.ReadPointer(ref p, cie.Encoding);
                        ulong range = table.ReadPointer(ref p, (byte)(cie.Encoding & 0x0F));
                        table._fdes.Add((start, start + range, offset, cieOffset));
                    }
                }
                offset = body + (int)length;
            }
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException)
        {
            // A malformed entry ends the index; what was read stays usable.
        }
        table._fdes.Sort((a, b) => a.Start.CompareTo(b.Start));
        table._cies = cies;
        return table;
    }

    private Dictionary<int, Cie> _cies = [];

    /// <summary>The rule at <paramref name="pc"/> (for a return address, pass the address minus one).</summary>
    public bool TryFind(ulong pc, out CallFrameRule rule)
    {
        rule = default;
        int lo = 0, hi = _fdes.Count - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (_fdes[mid].Start <= pc)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (best < 0 || pc >= _fdes[best].End || !_cies.TryGetValue(_fdes[best].Cie, out Cie cie))
            return false;
        try
        {
            var state = new State { CfaRegister = Rsp, CfaOffset = 8, ReturnAddressOffset = -8 };
            if (!Execute(cie.Instructions, cie.InstructionsEnd, cie, ulong.MaxValue, _fdes[best].Start, ref state, null))
                return false;
            State initial = state;
            int fde = _fdes[best].Fde;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(_section.AsSpan(fde));
            int p = fde + 8;
            _ = ReadPointer(ref p, cie.Encoding);
            _ = ReadPointer(ref p, (byte)(cie.Encoding & 0x0F));
            if (cie.HasAugmentationData)
            {
                ulong skip = Leb128.ReadUnsigned(_section, ref p);
                p += (int)skip;
            }
            if (!Execute(p, fde + 4 + (int)length, cie, pc, _fdes[best].Start, ref state, initial))
                return false;
            rule = new CallFrameRule(state.CfaRegister, state.CfaOffset, state.ReturnAddressOffset, state.RbpOffset);
            return state.CfaRegister is Rbp or Rsp;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException)
        {
            return false;
        }
    }

    private bool Execute(int p, int end, Cie cie, ulong target, ulong location, ref State state, State? initial)
    {
        var saved = new Stack<State>();
        while (p < end)
        {
            byte op = _section[p++];
            int high = op & 0xC0, low = op & 0x3F;
            ulong advance = 0;
            switch (high)
            {
                case 0x40:
                    advance = (ulong)low * cie.CodeAlignment;
                    break;
                case 0x80:
                    SetOffset(ref state, low, (long)Leb128.ReadUnsigned(_section, ref p) * cie.DataAlignment);
                    continue;
                case 0xC0:
                    Restore(ref state, low, initial);
                    continue;
            }
            if (high == 0)
            {
                switch (op)
                {
                    case 0x00: continue; // nop
                    case 0x02: advance = _section[p++] * cie.CodeAlignment; break;
                    case 0x03: advance = BinaryPrimitives.ReadUInt16LittleEndian(_section.AsSpan(p)) * cie.CodeAlignment; p += 2; break;
                    case 0x04: advance = BinaryPrimitives.ReadUInt32LittleEndian(_section.AsSpan(p)) * cie.CodeAlignment; p += 4; break;
                    case 0x05: { int reg = (int)Leb128.ReadUnsigned(_section, ref p); SetOffset(ref state, reg, (long)Leb128.ReadUnsigned(_section, ref p) * cie.DataAlignment); continue; }
                    case 0x0A: saved.Push(state); continue;
                    case 0x0B: if (saved.Count == 0) return false; state = saved.Pop(); continue;
                    case 0x0C: state.CfaRegister = (int)Leb128.ReadUnsigned(_section, ref p); state.CfaOffset = (long)Leb128.ReadUnsigned(_section, ref p); continue;
                    case 0x0D: state.CfaRegister = (int)Leb128.ReadUnsigned(_section, ref p); continue;
                    case 0x0E: state.CfaOffset = (long)Leb128.ReadUnsigned(_section, ref p); continue;
                    default: return false; // an instruction ilc does not write
                }
            }
            location += advance;
            if (location > target)
                return true; // the rows from here on describe later addresses
        }
        return true;
    }

    private static void SetOffset(ref State state, int register, long offset)
    {
        if (register == Rbp)
            state.RbpOffset = offset;
        else if (register == ReturnAddress)
            state.ReturnAddressOffset = offset;
    }

    private static void Restore(ref State state, int register, State? initial)
    {
        if (register == Rbp)
            state.RbpOffset = initial?.RbpOffset;
        else if (register == ReturnAddress && initial is { } i)
            state.ReturnAddressOffset = i.ReturnAddressOffset;
    }

    private Cie ReadCie(int p, int end)
    {
        byte version = _section[p++];
        if (version is not (1 or 3))
            throw new InvalidDataException($"CIE version {version}");
        int augmentationStart = p;
        while (_section[p] != 0)
            p++;
        string augmentation = System.Text.Encoding.ASCII.GetString(_section, augmentationStart, p - augmentationStart);
        p++;
        ulong codeAlignment = Leb128.ReadUnsigned(_section, ref p);
        long dataAlignment = Leb128.ReadSigned(_section, ref p);
        if (version == 1)
            p++;
        else
            _ = Leb128.ReadUnsigned(_section, ref p);
        byte encoding = 0; // DW_EH_PE_absptr
        bool hasData = augmentation.StartsWith('z');
        if (hasData)
        {
            ulong length = Leb128.ReadUnsigned(_section, ref p);
            int dataEnd = p + (int)length;
            for (int i = 1; i < augmentation.Length; i++)
            {
                switch (augmentation[i])
                {
                    case 'R': encoding = _section[p++]; break;
                    case 'L': p++; break;
                    case 'P': { byte e = _section[p++]; _ = ReadPointer(ref p, e); break; }
                    default: throw new InvalidDataException($"augmentation {augmentation}");
                }
            }
            p = dataEnd;
        }
        return new Cie(codeAlignment, dataAlignment, encoding, hasData, p, end);
    }

    private ulong ReadPointer(ref int p, byte encoding)
    {
        ulong place = _address + (ulong)p;
        ulong value = (encoding & 0x0F) switch
        {
            0x00 => BinaryPrimitives.ReadUInt64LittleEndian(_section.AsSpan(p)),
            0x03 => BinaryPrimitives.ReadUInt32LittleEndian(_section.AsSpan(p)),
            0x0B => (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(_section.AsSpan(p)),
            0x04 or 0x0C => BinaryPrimitives.ReadUInt64LittleEndian(_section.AsSpan(p)),
            _ => throw new InvalidDataException($"pointer encoding 0x{encoding:x}"),
        };
        p += (encoding & 0x0F) is 0x03 or 0x0B ? 4 : 8;
        if ((encoding & 0x70) == 0x10)
            value += place; // DW_EH_PE_pcrel
        else if ((encoding & 0x70) != 0)
            throw new InvalidDataException($"pointer encoding 0x{encoding:x}");
        return value;
    }

    private readonly record struct Cie(ulong CodeAlignment, long DataAlignment, byte Encoding, bool HasAugmentationData, int Instructions, int InstructionsEnd);

    private struct State
    {
        public int CfaRegister;
        public long CfaOffset;
        public long ReturnAddressOffset;
        public long? RbpOffset;
    }
}
