using ParaVirt.HostCalls;

namespace ParaVirt.HostCalls.Tests;

/// <summary>Registration rules of HostFunctionTable.</summary>
public class HostFunctionTableTests
{
    [Test]
    public void RegisteredNamesAreListed()
    {
        var table = new HostFunctionTable();
        table.Register("one", () => 1L);
        table.Register("two", (long a) => a);
        Assert.That(table.Names, Is.EquivalentTo(new[] { "one", "two" }));
    }

    [Test]
    public void UnsupportedTypesAreRefusedAtRegistration()
    {
        var table = new HostFunctionTable();
        Assert.That(() => table.Register("d", (double x) => 1L), Throws.ArgumentException.With.Message.Contains("Double"));
        Assert.That(() => table.Register("o", () => new object()), Throws.ArgumentException.With.Message.Contains("Object"));
        Assert.That(() => table.Register("s", (short x) => 1L), Throws.ArgumentException.With.Message.Contains("Int16"));
        Assert.That(table.Names, Is.Empty);
    }

    [Test]
    public void NamesMustBeUniqueNonEmptyAndShort()
    {
        var table = new HostFunctionTable();
        table.Register("f", () => 1L);
        Assert.That(() => table.Register("f", () => 2L), Throws.ArgumentException.With.Message.Contains("registered already"));
        Assert.That(() => table.Register("", () => 2L), Throws.ArgumentException);
        Assert.That(() => table.Register(null!, () => 2L), Throws.ArgumentNullException);
        Assert.That(() => table.Register(new string('n', HostFunctionTable.MaxNameLength + 1), () => 2L), Throws.ArgumentException);
        Assert.That(() => table.Register(new string('é', HostFunctionTable.MaxNameLength / 2 + 1), () => 2L), Throws.ArgumentException, "the limit is in UTF-8 bytes");
        table.Register(new string('n', HostFunctionTable.MaxNameLength), () => 3L);
        Assert.That(() => table.Register<long>("null", null!), Throws.ArgumentNullException);
    }

    [Test]
    public void TheTableFreezesWhenADispatcherExists()
    {
        var table = new HostFunctionTable();
        table.Register("f", () => 1L);
        table.CreateDispatcher();
        Assert.That(() => table.Register("g", () => 2L), Throws.InvalidOperationException.With.Message.Contains("register every function first"));
    }

    [Test]
    public void ALongestNameIsCallable()
    {
        var table = new HostFunctionTable();
        string name = new('n', HostFunctionTable.MaxNameLength);
        table.Register(name, () => 3L);
        var response = new byte[16];
        long length = table.CreateDispatcher().Dispatch(Messages.Request(name), response);
        Assert.That(Messages.Decode(response.AsSpan(0, (int)length)), Is.EqualTo(new Messages.Response(0, 3L)));
    }
}
