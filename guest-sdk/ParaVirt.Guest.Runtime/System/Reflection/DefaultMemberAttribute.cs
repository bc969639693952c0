namespace System.Reflection;

/// <summary>Names a type's default member (the C# compiler emits it for indexers).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface)]
public sealed class DefaultMemberAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public DefaultMemberAttribute(string memberName) { }
}
