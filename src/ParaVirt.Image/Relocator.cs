using System;
using System.Buffers.Binary;

namespace ParaVirt.Image;

/// <summary>
/// Applies one x86-64 ELF relocation (System V psABI, table 4.9) to a section's bytes:
/// <c>R_X86_64_64</c> writes S + A (64 bits); <c>R_X86_64_PC32</c> and <c>R_X86_64_PLT32</c>
/// write S + A - P (signed 32 bits; with static linking a PLT entry is the symbol itself);
/// <c>R_X86_64_32</c> and <c>R_X86_64_32S</c> write S + A zero- or sign-extended from 32 bits.
/// A value that does not fit is an <see cref="ImageBuildException"/>.
/// </summary>
/// <example><code>
/// // a call at offset 1 of a section linked at 0x200000 to a function at 0x200100:
/// Relocator.Apply(code, 0x200000, 1, Relocator.Plt32, 0x200100, -4, "f", "text+1");
/// </code></example>
public static class Relocator
{
    /// <summary><c>R_X86_64_64</c>.</summary>
    public const uint Absolute64 = 1;
    /// <summary><c>R_X86_64_PC32</c>.</summary>
    public const uint Pc32 = 2;
    /// <summary><c>R_X86_64_PLT32</c>.</summary>
    public const uint Plt32 = 4;
    /// <summary><c>R_X86_64_32</c>.</summary>
    public const uint Absolute32 = 10;
    /// <summary><c>R_X86_64_32S</c>.</summary>
    public const uint Absolute32Signed = 11;

    /// <summary>
    /// Patches <paramref name="data"/> (a section linked at <paramref name="sectionAddress"/>) at
    /// <paramref name="offset"/> for a relocation of <paramref name="type"/> against a symbol at
    /// <paramref name="symbolAddress"/> with <paramref name="addend"/>. <paramref name="where"/>
    /// describes the place in error messages.
    /// </summary>
    public static void Apply(byte[] data, ulong sectionAddress, ulong offset, uint type, ulong symbolAddress, long addend, string symbolName, string where)
    {
        ArgumentNullException.ThrowIfNull(data);
        int width = type == Absolute64 ? 8 : 4;
        if (offset > (ulong)data.Length || (ulong)data.Length - offset < (ulong)width)
            throw new ImageBuildException($"{where}: relocation against {symbolName} lies outside its section");
        Span<byte> place = data.AsSpan((int)offset, width);
        ulong value = symbolAddress + (ulong)addend;
        switch (type)
        {
            case Absolute64:
                BinaryPrimitives.WriteUInt64LittleEndian(place, value);
                break;
            case Pc32:
            case Plt32:
            {
                long relative = (long)(value - (sectionAddress + offset));
                if (relative is < int.MinValue or > int.MaxValue)
                    throw new ImageBuildException($"{where}: {symbolName} is {relative} bytes away, too far for a 32-bit PC-relative relocation");
                BinaryPrimitives.WriteInt32LittleEndian(place, (int)relative);
                break;
            }
            case Absolute32:
                if (value > uint.MaxValue)
                    throw new ImageBuildException($"{where}: address 0x{value:x} of {symbolName} does not fit a 32-bit relocation");
                BinaryPrimitives.WriteUInt32LittleEndian(place, (uint)value);
                break;
            case Absolute32Signed:
                if ((long)value is < int.MinValue or > int.MaxValue)
                    throw new ImageBuildException($"{where}: address 0x{value:x} of {symbolName} does not fit a signed 32-bit relocation");
                BinaryPrimitives.WriteInt32LittleEndian(place, (int)(long)value);
                break;
            default:
                throw new ImageBuildException($"{where}: unsupported relocation type {type} against {symbolName} (the linker handles R_X86_64_64, PC32, PLT32, 32, 32S)");
        }
    }
}
