// The two fixtures pack and publish from the same build output; the tests themselves are short. One at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
