#if PARAVIRT_FULL
using ParaVirt.Guest.Drivers;

namespace Workloads;

/// <summary>
/// Full mode's one-command-per-request disks behind one face: the driver is picked with a switch on
/// <see cref="GuestDisk"/> (a guest has no interface dispatch), one arm per device.
/// </summary>
internal sealed unsafe class FullModeDisk
{
    private readonly GuestDisk _kind;
    private AtaPioDriver _pio;
    private IdeDmaDriver _dma;

    public FullModeDisk(GuestDisk kind) => _kind = kind;

    /// <summary>The device's short name for failure messages.</summary>
    public string Name => _kind == GuestDisk.IdeDma ? "ide-dma" : "ata";

    /// <summary>Brings the driver up; <paramref name="interrupts"/> makes IDE DMA complete by IRQ14 (ATA PIO completes inside its data accesses and ignores it).</summary>
    public int Initialize(bool interrupts = false)
    {
        switch (_kind)
        {
            case GuestDisk.AtaPio:
                _pio = new AtaPioDriver();
                return _pio.Initialize();
            case GuestDisk.IdeDma:
                _dma = new IdeDmaDriver();
                return _dma.Initialize(interrupts);
            default:
                return DriverStatus.Unsupported;
        }
    }

    public uint SectorCount => _kind == GuestDisk.IdeDma ? _dma.SectorCount : _pio.SectorCount;

    public byte LastStatus => _kind == GuestDisk.IdeDma ? _dma.LastStatus : _pio.LastStatus;

    public byte LastError => _kind == GuestDisk.IdeDma ? _dma.LastError : _pio.LastError;

    public int Read(uint lba, int count, byte* buffer) => _kind == GuestDisk.IdeDma ? _dma.Read(lba, count, buffer) : _pio.Read(lba, count, buffer);

    public int Write(uint lba, int count, byte* buffer) => _kind == GuestDisk.IdeDma ? _dma.Write(lba, count, buffer) : _pio.Write(lba, count, buffer);

    public int Flush() => _kind == GuestDisk.IdeDma ? _dma.Flush() : _pio.Flush();
}
#endif
