using System;
using System.Buffers.Binary;
using ParaVirt.Abi.Nvme;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>Fills the Identify data structures (NVMe 1.4, Figures 247, 249) of the one-namespace controller.</summary>
internal static class NvmeIdentify
{
    /// <summary>PCI vendor ID reported (Red Hat's, as QEMU's controller: 1B36h).</summary>
    public const ushort VendorId = 0x1B36;

    /// <summary>Identify Controller: IDs and strings, MDTS, SQES 64 bytes, CQES 16 bytes, one namespace, a volatile write cache (Flush is meaningful).</summary>
    public static void Controller(Span<byte> page, string serial, string model, string firmware, int maxCommands)
    {
        page.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(page[NvmeIdentifyLayout.ControllerVendorId..], VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(page[2..], VendorId); // SSVID
        Ascii(page.Slice(NvmeIdentifyLayout.ControllerSerial, 20), serial);
        Ascii(page.Slice(NvmeIdentifyLayout.ControllerModel, 40), model);
        Ascii(page.Slice(NvmeIdentifyLayout.ControllerFirmware, 8), firmware);
        page[NvmeIdentifyLayout.ControllerMaxTransfer] = PrpWalker.MaxTransferExponent;
        BinaryPrimitives.WriteUInt16LittleEndian(page[NvmeIdentifyLayout.ControllerId..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(page[NvmeIdentifyLayout.ControllerVersion..], NvmeRegisterFile.Version);
        page[NvmeIdentifyLayout.ControllerSqEntrySizes] = 0x66;
        page[NvmeIdentifyLayout.ControllerCqEntrySizes] = 0x44;
        BinaryPrimitives.WriteUInt16LittleEndian(page[514..], (ushort)maxCommands); // MAXCMD
        BinaryPrimitives.WriteUInt32LittleEndian(page[NvmeIdentifyLayout.ControllerNamespaceCount..], 1);
        page[NvmeIdentifyLayout.ControllerVolatileWriteCache] = 1;
    }

    /// <summary>Identify Namespace of namespace 1: <paramref name="sectors"/> blocks of 512 bytes, one LBA format.</summary>
    public static void Namespace(Span<byte> page, ulong sectors)
    {
        page.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(page[NvmeIdentifyLayout.NamespaceSize..], sectors);
        BinaryPrimitives.WriteUInt64LittleEndian(page[NvmeIdentifyLayout.NamespaceCapacity..], sectors);
        BinaryPrimitives.WriteUInt64LittleEndian(page[NvmeIdentifyLayout.NamespaceUtilization..], sectors);
        page[NvmeIdentifyLayout.NamespaceFormatCount] = 0;
        page[NvmeIdentifyLayout.NamespaceFormattedLbaSize] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(page[NvmeIdentifyLayout.NamespaceLbaFormat0..], 9u << 16); // LBADS = 9: 512 bytes
    }

    /// <summary>Active Namespace ID list: namespace 1 when it is above <paramref name="after"/>.</summary>
    public static void ActiveNamespaces(Span<byte> page, uint after)
    {
        page.Clear();
        if (after < 1)
            BinaryPrimitives.WriteUInt32LittleEndian(page, 1);
    }

    private static void Ascii(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        for (int i = 0; i < field.Length && i < text.Length; i++)
            field[i] = text[i] is >= ' ' and <= '~' ? (byte)text[i] : (byte)'?';
    }
}
