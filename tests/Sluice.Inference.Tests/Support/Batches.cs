using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Inference.Tests;

internal static class Batches
{
    public static ProcessorContext Context(double cpus = 1) => new("test", 0, new ResourceRequest(Cpus: cpus), []);

    public static RecordBatch Text(IEnumerable<string?> texts, string column = "text")
    {
        var builder = new StringArray.Builder();
        foreach (var t in texts)
        {
            if (t is null) builder.AppendNull();
            else builder.Append(t);
        }
        var array = builder.Build();
        return new RecordBatch(new Schema([new Field(column, Apache.Arrow.Types.StringType.Default, nullable: true)], null), [array], array.Length);
    }

    public static FixedSizeListArray Tensor(RecordBatch batch, string column) =>
        (FixedSizeListArray)batch.Column(batch.Schema.GetFieldIndex(column));

    public static float[][] Vectors(RecordBatch batch, string column)
    {
        var array = Tensor(batch, column);
        var width = ((Apache.Arrow.Types.FixedSizeListType)array.Data.DataType).ListSize;
        var flat = TensorColumns.Elements<float>(array).ToArray();
        return Enumerable.Range(0, batch.Length).Select(i => flat.AsSpan(i * width, width).ToArray()).ToArray();
    }

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    public static double Norm(float[] a) => Math.Sqrt(a.Sum(v => (double)v * v));

    /// <summary>Varied ASCII sentences: empty-ish, short, punctuation, and some well over 128 tokens.</summary>
    public static readonly string[] Sentences =
    [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The new movie is awesome.",
        "hi",
        "Prices rose by $12.50, or 3%, in Q4 -- analysts (mostly) agree!",
        "Sluice streams Arrow record batches through actor pools that hold ONNX Runtime sessions.",
        "What's the capital of France? Paris, of course.",
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, "
            + "it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, "
            + "it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing before us, "
            + "we were all going direct to Heaven, we were all going direct the other way.",
        "x",
        "The quick brown fox jumps over the lazy dog.",
        "email me at someone@example.com or call 555-0100 before 9:30am",
        "Transformers use self-attention; BERT is an encoder-only transformer pre-trained with masked language modelling.",
        "ALL CAPS SENTENCE SHOULD LOWERCASE THE SAME WAY",
        "Numbers " + string.Join(' ', Enumerable.Range(1, 160)),
        "A cat sits on the mat.",
        "Rain is expected tomorrow afternoon in the northern districts.",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "She sells sea shells by the sea shore.",
        "Deep learning models grow a hundred times every two years while GPU memory grows far more slowly, so models are split "
            + "across devices with pipeline parallelism and tensor parallelism, and batch inference engines must schedule "
            + "heterogeneous stages elastically so that no device idles while another is the bottleneck of the whole job.",
        "Ok.",
    ];
}
