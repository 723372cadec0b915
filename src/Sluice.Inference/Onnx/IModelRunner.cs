using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference;

/// <summary>What <see cref="OnnxModel"/> runs a batch on: one session, or the shard sessions of a tensor-parallel model.</summary>
internal interface IModelRunner : IDisposable
{
    IReadOnlyDictionary<string, NodeMetadata> InputMetadata { get; }

    IReadOnlyDictionary<string, NodeMetadata> OutputMetadata { get; }

    /// <summary>Outputs in the order of <paramref name="outputNames"/>, owned by the caller.</summary>
    IDisposableReadOnlyCollection<OrtValue> Run(RunOptions runOptions, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputValues, IReadOnlyCollection<string> outputNames);
}
