"""onebyone.graph.calibration.inputs: every form of calibration data, and every bad one."""
import itertools

import numpy as np
import pytest
import torch
from torchvision.io import write_jpeg, write_png

from onebyone import OneByOneError
from onebyone.graph.calibration import inputs

GRAY = torch.zeros(1, 1, 6, 5)   # a one-channel image model's example: H 6, W 5
RGB = torch.zeros(1, 3, 6, 5)


def _flat(value, channels=3, h=9, w=7):
    """A (C, h, w) uint8 image of one value: resizing and gray conversion keep it exactly."""
    return torch.full((channels, h, w), value, dtype=torch.uint8)


def _error(spec, example=GRAY, **kw):
    with pytest.raises(OneByOneError) as info:
        inputs(spec, example, **kw)
    return info.value


# --- no data: random, said so -----------------------------------------------------------------

def test_none_gives_seeded_random_inputs_and_says_no_data_was_given():
    example = (torch.zeros(2, 3, 4, 4), torch.tensor([1, 2]))  # a second, integer input
    batches, said = inputs(None, example, count=5, seed=3)
    assert len(batches) == 5
    assert all(b[0].shape == (2, 3, 4, 4) and b[0].dtype == torch.float32 for b in batches)
    assert all(torch.equal(b[1], example[1]) for b in batches)  # integers are not made up
    assert not torch.equal(batches[0][0], batches[1][0])
    again, _ = inputs(None, example, count=5, seed=3)
    other, _ = inputs(None, example, count=5, seed=4)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    assert not torch.equal(batches[0][0], other[0][0])
    assert "no calibration data was given" in said and "random" in said and "5" in said


# --- images -----------------------------------------------------------------------------------

def test_a_directory_of_images_is_read_sorted_resized_gray_and_scaled(tmp_path):
    write_png(_flat(200), str(tmp_path / "b.png"))
    write_png(_flat(10, channels=1), str(tmp_path / "a.png"))
    write_jpeg(_flat(100), str(tmp_path / "c.JPG"), quality=100)
    (tmp_path / "notes.txt").write_text("not an image")
    batches, said = inputs(tmp_path, GRAY)
    assert [b[0].shape for b in batches] == [(1, 1, 6, 5)] * 3
    means = [b[0].mean().item() for b in batches]
    assert means == pytest.approx([10 / 255, 200 / 255, 100 / 255], abs=2 / 255)  # a, b, c
    assert all((b[0] - b[0].mean()).abs().max() < 2 / 255 for b in batches)  # still flat
    assert "3 images" in said and "not normalised" in said


def test_images_take_the_example_channels_size_count_and_normalisation(tmp_path):
    for i, value in enumerate((51, 102, 153)):
        write_png(_flat(value, channels=1), str(tmp_path / f"{i}.png"))
    batches, said = inputs(tmp_path, RGB, count=2, size=(4, 8), mean=[0.1, 0.2, 0.3], std=0.5)
    assert len(batches) == 2 and batches[0][0].shape == (1, 3, 4, 8)
    for b, value in zip(batches, (51, 102, 153)):
        per_channel = b[0].mean(dim=(0, 2, 3))
        expected = (value / 255 - torch.tensor([0.1, 0.2, 0.3])) / 0.5
        torch.testing.assert_close(per_channel, expected)
    assert "normalised with mean" in said


def test_images_batch_like_the_example(tmp_path):
    for i in range(5):
        write_png(_flat(40 * i), str(tmp_path / f"{i}.png"))
    batches, _ = inputs(tmp_path, torch.zeros(2, 3, 6, 5), count=None)
    assert len(batches) == 2 and batches[1][0].shape == (2, 3, 6, 5)  # the fifth fills no batch
    assert batches[1][0][1].mean().item() == pytest.approx(120 / 255)


def test_bad_image_directories_say_what_was_wrong(tmp_path):
    (tmp_path / "x.txt").write_text("text")
    assert "with none" in str(_error(tmp_path))
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    e = _error(tmp_path)
    assert "broken.png" in str(e) and e.__cause__ is not None
    (tmp_path / "broken.png").unlink()
    write_png(_flat(1), str(tmp_path / "a.png"))
    assert "one image input" in str(_error(tmp_path, torch.zeros(1, 2, 6, 5)))  # 2 channels
    assert "std" in str(_error(tmp_path, RGB, std=[1.0, 0.0, 1.0]))
    assert "mean" in str(_error(tmp_path, RGB, mean=[0.5, 0.5]))
    assert "size" in str(_error(tmp_path, RGB, size=(0, 4)))


# --- files ------------------------------------------------------------------------------------

def test_npy_rows_are_inputs_converted_to_the_example_dtype(tmp_path):
    data = np.random.default_rng(0).random((7, 1, 6, 5))  # float64
    np.save(tmp_path / "x.npy", data)
    batches, said = inputs(tmp_path / "x.npy", GRAY, count=None)
    assert len(batches) == 7 and batches[0][0].dtype == torch.float32
    torch.testing.assert_close(torch.cat([b[0] for b in batches]),
                               torch.from_numpy(data).float())
    assert "x.npy" in said and "7 inputs" in said


def test_pt_files_hold_a_tensor_or_a_list_of_tensors(tmp_path):
    stack = torch.randn(4, 1, 6, 5)
    torch.save(stack, tmp_path / "stack.pt")
    torch.save([stack[i] for i in range(4)], tmp_path / "list.pt")  # unbatched samples
    for name in ("stack.pt", "list.pt"):
        batches, _ = inputs(tmp_path / name, GRAY, count=3)
        assert len(batches) == 3
        torch.testing.assert_close(torch.cat([b[0] for b in batches]), stack[:3])


def test_a_wrong_shape_in_a_file_says_expected_and_got(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 3, 6, 5), dtype=np.float32))
    message = str(_error(tmp_path / "x.npy"))
    assert message.startswith("expected") and "(N, 1, 6, 5)" in message
    assert "got (3, 3, 6, 5)" in message


def test_missing_unreadable_and_unknown_files_are_one_error(tmp_path):
    assert "no such file" in str(_error(tmp_path / "missing.npy"))
    assert "no such file" in str(_error(str(tmp_path / "missing")))
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    e = _error(tmp_path / "bad.npy")
    assert "could not be read" in str(e) and e.__cause__ is not None
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert _error(tmp_path / "bad.pt").__cause__ is not None
    torch.save({"x": torch.zeros(1)}, tmp_path / "dict.pt")
    assert "got dict" in str(_error(tmp_path / "dict.pt"))
    (tmp_path / "x.csv").write_text("1,2")
    assert "another kind" in str(_error(tmp_path / "x.csv"))


# --- Python data ------------------------------------------------------------------------------

def test_an_iterable_of_tensors_arrays_and_batches(tmp_path):
    items = [torch.ones(1, 6, 5), np.full((2, 1, 6, 5), 2.0), torch.full((1, 1, 6, 5), 3.0)]
    batches, said = inputs(items, GRAY, count=None)
    assert [b[0].mean().item() for b in batches] == [1.0, 2.0, 2.0, 3.0]
    assert "4 inputs" in said


def test_an_endless_loader_is_read_only_as_far_as_count_needs():
    seen = []

    def loader():
        for i in itertools.count():
            seen.append(i)
            yield torch.full((1, 1, 6, 5), float(i))

    batches, _ = inputs(loader(), GRAY, count=3)
    assert [b[0].mean().item() for b in batches] == [0.0, 1.0, 2.0] and seen == [0, 1, 2]


def test_tuples_feed_a_model_with_two_inputs():
    example = (torch.zeros(1, 3, 4, 4), torch.zeros(1, 5))
    items = [(torch.randn(3, 4, 4), torch.randn(5)) for _ in range(3)]
    batches, _ = inputs(items, example)
    assert len(batches) == 3 and all(len(b) == 2 for b in batches)
    torch.testing.assert_close(batches[2][1][0], items[2][1])
    assert "one tensor per model input" in str(_error(torch.zeros(3, 3, 4, 4), example))


def test_bad_python_data_is_one_error():
    labelled = [(torch.zeros(1, 1, 6, 5), torch.tensor([3]))]  # a (images, labels) loader
    assert "drop labels" in str(_error(labelled))
    wrong = str(_error([torch.zeros(1, 3, 6, 5)]))
    assert "(N, 1, 6, 5)" in wrong and "got (1, 3, 6, 5)" in wrong
    assert "convertible to torch.int64" in str(_error([torch.zeros(1, 4)], torch.zeros(1, 4, dtype=torch.long)))
    assert "empty" in str(_error([]))
    assert "at least one batch" in str(_error(torch.zeros(0, 1, 6, 5)))
    e = _error(["text"])
    assert "got str" in str(e) and e.__cause__ is not None
    assert "got int" in str(_error(5))
    assert "count" in str(_error(None, count=0))
