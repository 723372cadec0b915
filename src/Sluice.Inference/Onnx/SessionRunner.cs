using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference;

/// <summary>One <see cref="InferenceSession"/> and the options it was made with; owns both.</summary>
internal sealed class SessionRunner(InferenceSession session, SessionOptions options) : IModelRunner
{
    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata => session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata => session.OutputMetadata;

    public IDisposableReadOnlyCollection<OrtValue> Run(RunOptions runOptions, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputValues, IReadOnlyCollection<string> outputNames) =>
        session.Run(runOptions, inputNames, inputValues, outputNames);

    public void Dispose()
    {
        session.Dispose();
        options.Dispose();
    }
}
