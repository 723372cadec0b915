using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sluice.Inference.Partitioning;

/// <summary>
/// Synthetic inputs for running a whole model during partitioning: every free dim is filled in (the first with
/// <c>batch</c>, the others with <c>free</c>), integer inputs are ones (a valid token id, mask and segment),
/// floats are zeros or, given a seed, uniform in [0, 1).
/// </summary>
internal static class ProbeInputs
{
    /// <summary>The inputs, or null with <paramref name="problem"/> set when an input's type cannot be synthesized.</summary>
    public static List<NamedOnnxValue>? Create(InferenceSession session, int batch, int free, int? seed, out string problem)
    {
        var random = seed is { } s ? new Random(s) : null;
        var inputs = new List<NamedOnnxValue>();
        foreach (var (name, meta) in session.InputMetadata)
        {
            var dims = meta.Dimensions.Select((d, i) => d > 0 ? d : i == 0 ? batch : free).ToArray();
            var count = dims.Aggregate(1, (a, d) => a * d);
            NamedOnnxValue? value = meta.ElementDataType switch
            {
                TensorElementType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(Enumerable.Repeat(1L, count).ToArray(), dims)),
                TensorElementType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(Enumerable.Repeat(1, count).ToArray(), dims)),
                TensorElementType.Float => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(Floats(count, random), dims)),
                _ => null,
            };
            if (value is null)
            {
                problem = $"cannot synthesize input '{name}' of type {meta.ElementDataType} (only int64, int32 and float)";
                return null;
            }
            inputs.Add(value);
        }
        problem = "";
        return inputs;
    }

    /// <summary>The shapes of <paramref name="inputs"/>, e.g. <c>input_ids [8,128], attention_mask [8,128]</c>.</summary>
    public static string Describe(IEnumerable<NamedOnnxValue> inputs) =>
        string.Join(", ", inputs.Select(i => $"{i.Name} [{string.Join(",", Dimensions(i).ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture)))}]"));

    private static ReadOnlySpan<int> Dimensions(NamedOnnxValue value) => value.Value switch
    {
        DenseTensor<long> t => t.Dimensions,
        DenseTensor<int> t => t.Dimensions,
        DenseTensor<float> t => t.Dimensions,
        _ => [],
    };

    private static float[] Floats(int count, Random? random)
    {
        var data = new float[count];
        if (random is not null)
            for (var i = 0; i < count; i++) data[i] = random.NextSingle();
        return data;
    }
}
