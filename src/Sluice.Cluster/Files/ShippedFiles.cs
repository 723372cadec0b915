using System.Text.Json.Nodes;
using Sluice.Cluster.Actors;
using Sluice.Cluster.Hosting;
using Sluice.Contracts;

namespace Sluice.Cluster.Files;

/// <summary>The worker's side of job files: an actor's options, rewritten to name this node's cached copies.</summary>
internal static class ShippedFiles
{
    /// <summary>
    /// The descriptor an actor builds its processor from: as sent when no file travels (or the actor is on the driver's
    /// own node), else with every shipped option set to the file's path in <see cref="ClusterNode.Files"/>, fetched from
    /// the driver if this node does not hold a verified copy. The files are fetched in parallel.
    /// </summary>
    public static async Task<ProcessorDescriptor> LocalizeAsync(ActorInit init, ClusterNode node, IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (init.Files is not { Length: > 0 } files || init.FileSource is not { } source || source == node.Id) return init.Descriptor;
        var driver = grains.GetGrain<IFileSourceGrain>(source);
        var from = $"driver node {source}";
        var paths = await Task.WhenAll(files.Select(f => node.Files.EnsureAsync(f, from, offset => driver.ReadAsync(f.Sha256, offset), cancellationToken))).ConfigureAwait(false);
        var options = (init.OptionsJson is null ? null : JsonNode.Parse(init.OptionsJson)) as JsonObject
            ?? throw new SluiceException($"stage '{init.Operator}': job files were sent for options that are not a JSON object: refused");
        for (var i = 0; i < files.Length; i++)
        {
            if (!options.ContainsKey(files[i].Option))
                throw new SluiceException($"stage '{init.Operator}': job file option '{files[i].Option}' is not one of its options: refused");
            options[files[i].Option] = paths[i];
        }
        return init.Descriptor with { OptionsJson = options.ToJsonString() };
    }

    /// <summary>
    /// A processor's failure to start, with what this node changed said when it is the likely cause: only the files
    /// the options name travel, so a model whose weights lie in a file beside it (ONNX external data, which ONNX Runtime
    /// looks for beside the cached copy) cannot load from the cache.
    /// </summary>
    public static string Explain(ActorInit init, ClusterNode node, string error)
    {
        if (init.Files is not { Length: > 0 } files || init.FileSource == node.Id || !error.Contains("external data", StringComparison.OrdinalIgnoreCase)) return error;
        var sent = string.Join(", ", files.Select(f => $"{f.Option} ({f.FileName})"));
        return $"{error} — stage '{init.Operator}' on node {node.Id} loads {sent} from the copy the driver sent into this node's file cache, " +
            "and files the options do not name are not sent: ONNX external data (weights in a file beside the model) is not supported on a cluster yet; " +
            "give a model that holds its weights (re-save it without external data, possible under 2 GB)";
    }
}
