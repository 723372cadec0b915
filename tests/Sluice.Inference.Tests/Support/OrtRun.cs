using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sluice.Inference.Tests;

/// <summary>A tensor copied out of ONNX Runtime: float activations, Int64 ids or uint8 pixels.</summary>
internal sealed record HostTensor(long[] Shape, float[]? Floats, long[]? Longs, byte[]? Bytes = null)
{
    public static HostTensor Of(byte[] data, params long[] shape) => new(shape, null, null, data);

    public static HostTensor Of(float[] data, params long[] shape) => new(shape, data, null);

    public static HostTensor Of(long[] data, params long[] shape) => new(shape, null, data);
}

/// <summary>Runs ONNX models directly, as references for what Sluice computes.</summary>
internal static class OrtRun
{
    /// <summary>Runs a model as production does (ORT_ENABLE_ALL), fed the tensors it names from <paramref name="available"/>.</summary>
    public static Dictionary<string, HostTensor> Run(string model, IReadOnlyDictionary<string, HostTensor> available)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var names = session.InputNames.ToArray();
        var values = names.Select(n =>
        {
            var t = available[n];
            return t.Floats is not null ? OrtValue.CreateTensorValueFromMemory(t.Floats, t.Shape)
                : t.Bytes is not null ? OrtValue.CreateTensorValueFromMemory(t.Bytes, t.Shape)
                : OrtValue.CreateTensorValueFromMemory(t.Longs!, t.Shape);
        }).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, session.OutputNames);
            var result = new Dictionary<string, HostTensor>();
            for (var i = 0; i < outputs.Count; i++)
            {
                var info = outputs[i].GetTensorTypeAndShape();
                Assert.Equal(TensorElementType.Float, info.ElementDataType);
                result[session.OutputNames[i]] = new(info.Shape, outputs[i].GetTensorDataAsSpan<float>().ToArray(), null);
            }
            return result;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>Runs partitioned stages in order, each fed from the model's inputs and the earlier stages' outputs.</summary>
    public static Dictionary<string, HostTensor> RunChain(IEnumerable<string> stageModels, IReadOnlyDictionary<string, HostTensor> feeds)
    {
        var chained = new Dictionary<string, HostTensor>(feeds);
        foreach (var stage in stageModels)
            foreach (var (name, value) in Run(stage, chained)) chained[name] = value;
        return chained;
    }

    public static double MaxAbsDiff(HostTensor a, HostTensor b)
    {
        Assert.Equal(a.Shape, b.Shape);
        var max = 0.0;
        for (var i = 0; i < a.Floats!.Length; i++) max = Math.Max(max, Math.Abs(a.Floats[i] - b.Floats![i]));
        return max;
    }
}
