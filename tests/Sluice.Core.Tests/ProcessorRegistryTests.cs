using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Core.Tests;

public sealed class ProcessorRegistryTests
{
    [Fact]
    public void Create_UnregisteredType_RefusedBeforeItsTypeInitializerOrConstructorRuns()
    {
        var registry = new ProcessorRegistry().Add<Registered>();
        var name = typeof(Tripwire).AssemblyQualifiedName!;

        var e = Assert.Throws<SluiceException>(() => registry.Create(new ProcessorDescriptor(name, typeof(string).AssemblyQualifiedName, "\"/tmp/victim\"")));

        Assert.Contains("'Sluice.Core.Tests.Tripwire' is not registered on this node", e.Message);
        Assert.False(TripwireLog.Touched, "the unregistered type's static constructor or constructor ran");
    }

    [Fact]
    public void Create_FrameworkTypeWithAPath_Refused()
    {
        var registry = new ProcessorRegistry().Add<Registered>();

        var e = Assert.Throws<SluiceException>(() => registry.Create(
            new ProcessorDescriptor(typeof(StreamWriter).AssemblyQualifiedName!, typeof(string).AssemblyQualifiedName, "\"/tmp/victim.txt\"")));

        Assert.Contains("'System.IO.StreamWriter' is not registered", e.Message);
    }

    [Fact]
    public void Create_RegisteredTypeWithOtherOptionsType_Refused()
    {
        var registry = new ProcessorRegistry().Add<WithOptions, WithOptions.Settings>();

        var e = Assert.Throws<SluiceException>(() => registry.Create(
            new ProcessorDescriptor(typeof(WithOptions).AssemblyQualifiedName!, typeof(string).AssemblyQualifiedName, "\"x\"")));

        Assert.Contains("takes options of type Settings", e.Message);
    }

    [Fact]
    public void Create_RegisteredTypeWithoutTheOptionsItTakes_Refused()
    {
        var registry = new ProcessorRegistry().Add<WithOptions, WithOptions.Settings>();

        var e = Assert.Throws<SluiceException>(() => registry.Create(new ProcessorDescriptor(typeof(WithOptions).AssemblyQualifiedName!)));

        Assert.Contains("none were given", e.Message);
    }

    [Fact]
    public void Create_RegisteredWithOptions_BuildsWithTheOptionsFromJson()
    {
        var registry = new ProcessorRegistry().Add<WithOptions, WithOptions.Settings>();

        var processor = registry.Create(ProcessorDescriptor.Of<WithOptions, WithOptions.Settings>(new WithOptions.Settings("hello", 3)));

        var built = Assert.IsType<WithOptions>(processor);
        Assert.Equal(new WithOptions.Settings("hello", 3), built.Options);
    }

    [Fact]
    public void Create_RegisteredWithoutOptions_Builds()
    {
        var registry = new ProcessorRegistry().Add<Registered>();

        Assert.IsType<Registered>(registry.Create(ProcessorDescriptor.Of<Registered>()));
    }

    [Fact]
    public void AddModules_AssemblyWithAModule_RegistersWhatTheModuleRegisters()
    {
        var registry = new ProcessorRegistry().AddModules(typeof(ProcessorRegistryTests).Assembly);

        Assert.True(registry.Contains(typeof(Registered).AssemblyQualifiedName!));
        Assert.False(registry.Contains(typeof(Tripwire).AssemblyQualifiedName!));
    }
}

/// <summary>Registers <see cref="Registered"/> only.</summary>
public sealed class TestModule : IProcessorModule
{
    public void Register(ProcessorRegistry processors) => processors.Add<Registered>();
}

public sealed class Registered : IBatchProcessor
{
    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Records whether anything of it ran: its type initializer or its constructor.</summary>
public sealed class Tripwire : IBatchProcessor
{
    private static bool _touched;

#pragma warning disable CA1810 // the explicit static constructor is the point: it records that the type was initialized
    static Tripwire() => Mark();
#pragma warning restore CA1810

    public Tripwire(string path)
    {
        _ = path;
        Mark();
    }

    private static void Mark()
    {
        _touched = true;
        TripwireLog.Touched = _touched;
    }

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Apart from <see cref="Tripwire"/>: reading it must not itself run Tripwire's type initializer.</summary>
internal static class TripwireLog
{
    public static bool Touched { get; set; }
}

public sealed class WithOptions(WithOptions.Settings options) : IBatchProcessor
{
    public sealed record Settings(string Name, int Count);

    public Settings Options { get; } = options;

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
