using System.Text.Json;

namespace Sluice.Contracts;

/// <summary>
/// A processor named so that any node can build it: its type and, when its constructor takes an
/// options record, that record as JSON. Worker nodes run the same executable as the driver, so
/// the types resolve there too; a processor made by a lambda has no descriptor and runs only in
/// the process that made it (local mode).
/// </summary>
public sealed record ProcessorDescriptor(string TypeName, string? OptionsTypeName = null, string? OptionsJson = null)
{
    public static ProcessorDescriptor Of<TProcessor>() where TProcessor : IBatchProcessor, new() =>
        new(typeof(TProcessor).AssemblyQualifiedName!);

    public static ProcessorDescriptor Of<TProcessor, TOptions>(TOptions options) where TProcessor : IBatchProcessor =>
        new(typeof(TProcessor).AssemblyQualifiedName!, typeof(TOptions).AssemblyQualifiedName, JsonSerializer.Serialize(options));

    /// <summary>Builds the processor from its names; fails saying which type is missing on this node.</summary>
    public IBatchProcessor Create()
    {
        var type = Resolve(TypeName);
        if (OptionsTypeName is null) return (IBatchProcessor)Activator.CreateInstance(type)!;
        var optionsType = Resolve(OptionsTypeName);
        var options = JsonSerializer.Deserialize(OptionsJson ?? "null", optionsType)
            ?? throw new SluiceException($"processor {type.Name}: its options ({optionsType.Name}) deserialized to null");
        return (IBatchProcessor)Activator.CreateInstance(type, options)!;
    }

    private static Type Resolve(string name) =>
        Type.GetType(name) ?? throw new SluiceException($"type '{name}' is not known on this node; run the same sluice build on every node");

    public override string ToString() => TypeName.Split(',')[0];
}
