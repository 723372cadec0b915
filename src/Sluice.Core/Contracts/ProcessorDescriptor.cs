using System.Text.Json;

namespace Sluice.Contracts;

/// <summary>
/// A processor named so that any node can build it: its type and, when its constructor takes an
/// options record, that record as JSON. A node builds it only through its <see cref="ProcessorRegistry"/>,
/// which refuses any type not registered there; a processor made by a lambda has no descriptor and runs
/// only in the process that made it (local mode).
/// </summary>
public sealed record ProcessorDescriptor(string TypeName, string? OptionsTypeName = null, string? OptionsJson = null)
{
    public static ProcessorDescriptor Of<TProcessor>() where TProcessor : IBatchProcessor, new() =>
        new(typeof(TProcessor).AssemblyQualifiedName!);

    public static ProcessorDescriptor Of<TProcessor, TOptions>(TOptions options) where TProcessor : IBatchProcessor =>
        new(typeof(TProcessor).AssemblyQualifiedName!, typeof(TOptions).AssemblyQualifiedName, JsonSerializer.Serialize(options));

    public override string ToString() => TypeName.Split(',')[0];
}
