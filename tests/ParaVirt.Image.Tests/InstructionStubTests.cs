using System.Linq;
using Iced.Intel;

namespace ParaVirt.Image.Tests;

/// <summary>The machine code behind ParaVirt.Guest.PrivilegedInstructions.</summary>
public class InstructionStubTests
{
    private static string Disassemble(string symbol)
    {
        Assert.That(InstructionStubs.TryAssemble(symbol, out byte[] code), Is.True, symbol);
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        var lines = new System.Collections.Generic.List<string>();
        while (decoder.IP < (ulong)code.Length)
        {
            formatter.Format(decoder.Decode(), output);
            lines.Add(output.ToStringAndReset());
        }
        return string.Join("; ", lines);
    }

    [TestCase("__pv_insn_cli", "cli; ret")]
    [TestCase("__pv_insn_hlt", "hlt; ret")]
    [TestCase("__pv_insn_inb", "mov edx,edi; xor eax,eax; in al,dx; ret")]
    [TestCase("__pv_insn_outw", "mov edx,edi; mov eax,esi; out dx,ax; ret")]
    [TestCase("__pv_insn_rep_insw", "mov eax,edi; mov rdi,rsi; mov rcx,rdx; mov edx,eax; rep insw; ret")]
    [TestCase("__pv_insn_rep_outsw", "mov eax,edi; mov rcx,rdx; mov edx,eax; rep outsw; ret")]
    [TestCase("__pv_insn_write_cr3", "mov cr3,rdi; ret")]
    [TestCase("__pv_insn_read_cr2", "mov rax,cr2; ret")]
    [TestCase("__pv_insn_invlpg", "invlpg [rdi]; ret")]
    [TestCase("__pv_insn_rdmsr", "mov ecx,edi; rdmsr; shl rdx,20h; or rax,rdx; ret")]
    [TestCase("__pv_insn_cpuid", "push rbx; mov r8,rdx; mov eax,edi; mov ecx,esi; cpuid; mov [r8],eax; mov [r8+4],ebx; mov [r8+8],ecx; mov [r8+0Ch],edx; pop rbx; ret")]
    [TestCase("__pv_insn_wrmsr", "mov ecx,edi; mov eax,esi; mov rdx,rsi; shr rdx,20h; wrmsr; ret")]
    public void StubIsTheInstruction(string symbol, string expected) =>
        Assert.That(Disassemble(symbol), Is.EqualTo(expected));

    [Test]
    public void UnknownStubIsNotAssembled()
    {
        Assert.That(InstructionStubs.TryAssemble("__pv_insn_lgdt", out _), Is.False);
        Assert.That(InstructionStubs.TryAssemble("memcpy", out _), Is.False);
        Assert.That(InstructionStubs.SymbolNames.Count(), Is.EqualTo(23));
    }
}

/// <summary>Every extern the guest SDK declares has a stub the linker can provide.</summary>
public class InstructionStubCoverageTests
{
    [Test]
    public void EveryDeclaredStubExists()
    {
        string source = System.IO.File.ReadAllText(System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory,
            "../../../../../guest-sdk/ParaVirt.Guest/Cpu/PrivilegedInstructions.cs"));
        var declared = System.Text.RegularExpressions.Regex.Matches(source, "\"(__pv_insn_[a-z0-9_]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.That(declared, Has.Count.EqualTo(23));
        Assert.That(InstructionStubs.SymbolNames, Is.EquivalentTo(declared));
    }
}
