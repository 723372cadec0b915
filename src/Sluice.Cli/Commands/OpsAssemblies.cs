using System.Reflection;
using System.Runtime.Loader;
using Sluice.Contracts;

namespace Sluice.Cli.Commands;

/// <summary>
/// <c>sluice worker --ops-assembly PATH</c>: the operator names assemblies whose processor modules this
/// worker may build. Only the types those modules register become buildable; nothing named over the wire is loaded.
/// </summary>
internal static class OpsAssemblies
{
    /// <summary>Loads each assembly into the default context and registers its <see cref="IProcessorModule"/> types.</summary>
    public static ProcessorRegistry Register(ProcessorRegistry processors, IReadOnlyList<string> paths)
    {
        foreach (var path in paths)
        {
            var assembly = Load(path);
            var before = processors.TypeNames.Count;
            processors.AddModules(assembly);
            if (processors.TypeNames.Count == before)
                throw new SluiceException($"--ops-assembly: '{path}' registers no processor; it needs a public class implementing IProcessorModule (with a parameterless constructor) that registers them");
        }
        return processors;
    }

    internal static Assembly Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SluiceException($"--ops-assembly: '{path}' does not exist ({full}); give the path of a .dll that holds IProcessorModule types");
        Assembly assembly;
        try
        {
            assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException)
        {
            throw new SluiceException($"--ops-assembly: '{path}' is not a .NET assembly; give the path of a .dll built for net10.0 that holds IProcessorModule types");
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
