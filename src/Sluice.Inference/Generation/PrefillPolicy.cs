namespace Sluice.Inference.Generation;

/// <summary>
/// How the prompts that join a batch at one step are prefilled: sorted by length and cut into groups, one Run per group,
/// each group right-padded to its longest prompt (<see cref="DecoderRunner.Prefill"/>).
/// </summary>
/// <param name="MaxRows">Most prompts in one Run; 1 prefills each prompt alone.</param>
/// <param name="MaxPadShare">Most of a group's padded tokens that may be pads.</param>
internal sealed record PrefillPolicy(int MaxRows, double MaxPadShare = PrefillPolicy.DefaultMaxPadShare)
{
    /// <summary>
    /// A pad costs what a real token costs (every layer computes its position), so a quarter bounds the prefill compute
    /// thrown away at 25%, while prompts of similar length still share a Run — whose fixed cost (the call, its input and
    /// output tensors) is most of a small model's prefill.
    /// </summary>
    public const double DefaultMaxPadShare = 0.25;

    /// <summary>
    /// The groups, as indices into <paramref name="lengths"/>: in order of length, a group closed when one more prompt
    /// would take it past <see cref="MaxRows"/> rows or its pads past <see cref="MaxPadShare"/> of its padded tokens.
    /// </summary>
    public List<int[]> Groups(IReadOnlyList<int> lengths)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToList();
        var groups = new List<int[]>();
        var current = new List<int>();
        long real = 0;
        foreach (var i in order)
        {
            // Sorted ascending: the newcomer is the group's widest, so the padded size is rows x its length.
            var padded = (long)(current.Count + 1) * lengths[i];
            if (current.Count > 0 && (current.Count == MaxRows || padded - (real + lengths[i]) > MaxPadShare * padded))
            {
                groups.Add([.. current]);
                current.Clear();
                real = 0;
            }
            current.Add(i);
            real += lengths[i];
        }
        if (current.Count > 0) groups.Add([.. current]);
        return groups;
    }
}
