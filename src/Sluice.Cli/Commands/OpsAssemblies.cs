using System.Reflection;
using System.Runtime.Loader;
using System.CommandLine;
using Sluice.Contracts;
using Sluice.Jobs;

namespace Sluice.Cli.Commands;

/// <summary>
/// <c>sluice worker --ops-assembly PATH</c>: the operator names assemblies whose processor modules this
/// worker may build. Only the types those modules register become buildable; nothing named over the wire is loaded.
/// </summary>
internal static class OpsAssemblies
{
    /// <summary>
    /// The built-in registry plus, for each assembly, its <see cref="Sluice.Jobs.IJobModule"/> ops and formats and its
    /// <see cref="IProcessorModule"/> processors. The driver (<c>run</c>, <c>explain</c>) and every worker given the same
    /// assemblies know the same ops; a worker builds only their processor types.
    /// </summary>
    public static JobRegistry Registry(IReadOnlyList<string> paths)
    {
        var registry = JobRegistry.CreateDefault();
        foreach (var path in paths)
        {
            var assembly = Load(path);
            var (ops, processors) = (registry.Ops.Count, registry.Processors.TypeNames.Count);
            registry.AddModules(assembly);
            if (registry.Ops.Count == ops && registry.Processors.TypeNames.Count == processors)
                throw new SluiceException($"--ops-assembly: '{path}' registers nothing; it needs a public class implementing IJobModule (ops) or IProcessorModule (processors), with a parameterless constructor");
        }
        return registry;
    }

    /// <summary>The option, on <c>run</c>, <c>explain</c> and <c>worker</c> alike.</summary>
    public static Option<string[]> Option() => new("--ops-assembly")
    {
        Description = "a .dll whose IJobModule / IProcessorModule classes register more ops and processors (repeatable; give workers the same ones)",
        DefaultValueFactory = _ => [],
    };

    internal static Assembly Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SluiceException($"--ops-assembly: '{path}' does not exist ({full}); give the path of a .dll that holds IJobModule or IProcessorModule types");
        Assembly assembly;
        try
        {
            assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException)
        {
            throw new SluiceException($"--ops-assembly: '{path}' is not a .NET assembly; give the path of a .dll built for net10.0 that holds IJobModule or IProcessorModule types");
        }
        // Its own dependencies sit beside it, not beside sluice.dll: resolve them from its folder.
        var folder = Path.GetDirectoryName(full)!;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            var candidate = Path.Combine(folder, name.Name + ".dll");
            return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
        };
        return assembly;
    }
}
