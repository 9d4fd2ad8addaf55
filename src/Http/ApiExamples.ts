/**
 * Examples for the OpenAPI document, by component schema: real answers of the daemon (the OCR of
 * test/fixtures/images/testocr.png, the faces of a shared photo, the VAD fixture), with long lists cut to their
 * first items (an embedding has 128 numbers, a page dozens of words) so that /docs stays readable.
 */
/** An OCR job as the API shows it: the example of a job, and of a listing's one entry. */
const ocrJob = {
  "id": "d10cd66d-858d-4669-875d-6c1a0520fa19",
  "state": "done",
  "progress": 1,
  "runner": "127.0.0.1:34431",
  "attempts": 1,
  "createdAt": "2026-12-02T02:18:48.063Z",
  "updatedAt": "2026-12-02T02:18:48.902Z",
  "startedAt": "2026-12-02T02:18:48.097Z",
  "kind": "ocr",
  "options": {
    "lang": "eng",
    "dpi": 300,
    "ocr": "auto",
    "format": "json"
  },
  "result": {
    "text": "This is a lot of 12 point text to test the\nocr code and see if it works on all types\nof file format.\n\nThe quick brown…",
    "confidence": 94,
    "words": [
      {
        "text": "This",
        "confidence": 95.1569,
        "bbox": {
          "x0": 36,
          "y0": 92,
          "x1": 96,
          "y1": 116
        },
        "page": 1
      },
      {
        "text": "is",
        "confidence": 95.1569,
        "bbox": {
          "x0": 109,
          "y0": 92,
          "x1": 129,
          "y1": 116
        },
        "page": 1
      }
    ],
    "width": 640,
    "height": 480,
    "durationMs": 736,
    "pages": [
      {
        "page": 1,
        "source": "ocr",
        "text": "This is a lot of 12 point text to test the\nocr code and see if it works on all types\nof file format.\n\nThe quick brown…",
        "confidence": 94,
        "words": [
          {
            "text": "This",
            "confidence": 95.1569,
            "bbox": {
              "x0": 36,
              "y0": 92,
              "x1": 96,
              "y1": 116
            }
          },
          {
            "text": "is",
            "confidence": 95.1569,
            "bbox": {
              "x0": 109,
              "y0": 92,
              "x1": 129,
              "y1": 116
            }
          }
        ],
        "width": 640,
        "height": 480,
        "durationMs": 736
      }
    ]
  }
}

export const examples: Record<string, unknown> = {
  "Status": {
    "status": "ok",
    "message": "Server is running with background tasks",
    "cpu": {
      "cpus": 2,
      "quota": null,
      "source": "cpuset /sys/fs/cgroup/cpuset/cpuset.cpus"
    },
    "pool": {
      "size": 2,
      "ready": 2,
      "busy": 0,
      "running": 0,
      "queued": 0,
      "restarts": 0,
      "threads": 2,
      "lastStartError": null
    },
    "loops": [
      {
        "name": "inbox",
        "state": "idle",
        "intervalMs": 5000,
        "runs": 1,
        "failures": 0,
        "consecutiveFailures": 0,
        "lastError": null,
        "lastRunAt": "2026-12-02T02:18:39.065Z",
        "lastSuccessAt": "2026-12-02T02:18:39.747Z",
        "lastDurationMs": 682
      }
    ],
    "models": [
      {
        "name": "YuNet face detector with landmarks (model=accurate|fast)",
        "file": "yunet_s_dynamic.onnx",
        "state": "present"
      }
    ],
    "cluster": {
      "mode": "embedded",
      "runner": "127.0.0.1:34431",
      "runners": [
        {
          "address": "127.0.0.1:34431",
          "healthy": true
        }
      ],
      "shards": 300
    }
  },
  "Ready": {
    "status": "ready",
    "workers": 2,
    "models": [
      {
        "name": "YuNet face detector with landmarks (model=accurate|fast)",
        "file": "yunet_s_dynamic.onnx",
        "state": "present"
      }
    ]
  },
  "Live": {
    "status": "live"
  },
  "OcrResult": {
    "text": "This is a lot of 12 point text to test the\nocr code and see if it works on all types\nof file format.\n\nThe quick brown…",
    "confidence": 94,
    "words": [
      {
        "text": "This",
        "confidence": 95.1569,
        "bbox": {
          "x0": 36,
          "y0": 92,
          "x1": 96,
          "y1": 116
        },
        "page": 1
      },
      {
        "text": "is",
        "confidence": 95.1569,
        "bbox": {
          "x0": 109,
          "y0": 92,
          "x1": 129,
          "y1": 116
        },
        "page": 1
      }
    ],
    "width": 640,
    "height": 480,
    "durationMs": 955,
    "pages": [
      {
        "page": 1,
        "source": "ocr",
        "text": "This is a lot of 12 point text to test the\nocr code and see if it works on all types\nof file format.\n\nThe quick brown…",
        "confidence": 94,
        "words": [
          {
            "text": "This",
            "confidence": 95.1569,
            "bbox": {
              "x0": 36,
              "y0": 92,
              "x1": 96,
              "y1": 116
            }
          },
          {
            "text": "is",
            "confidence": 95.1569,
            "bbox": {
              "x0": 109,
              "y0": 92,
              "x1": 129,
              "y1": 116
            }
          }
        ],
        "width": 640,
        "height": 480,
        "durationMs": 955
      }
    ]
  },
  "Languages": {
    "languages": [
      "deu",
      "eng",
      "fra",
      "ita",
      "por",
      "spa"
    ],
    "default": "eng"
  },
  "Detection": {
    "width": 910,
    "height": 1137,
    "faces": [
      {
        "box": {
          "x": 371,
          "y": 90,
          "width": 240,
          "height": 329
        },
        "score": 0.9462,
        "landmarks": {
          "rightEye": {
            "x": 438.9,
            "y": 213.8
          },
          "leftEye": {
            "x": 554.1,
            "y": 213.7
          },
          "nose": {
            "x": 494.9,
            "y": 267.5
          },
          "mouthRight": {
            "x": 440.2,
            "y": 317.7
          },
          "mouthLeft": {
            "x": 547.1,
            "y": 319
          }
        }
      }
    ],
    "durationMs": 227
  },
  "Embedding": {
    "width": 910,
    "height": 1137,
    "faces": [
      {
        "box": {
          "x": 371,
          "y": 90,
          "width": 240,
          "height": 329
        },
        "score": 0.9462,
        "landmarks": {
          "rightEye": {
            "x": 438.9,
            "y": 213.8
          },
          "leftEye": {
            "x": 554.1,
            "y": 213.7
          },
          "nose": {
            "x": 494.9,
            "y": 267.5
          },
          "mouthRight": {
            "x": 440.2,
            "y": 317.7
          },
          "mouthLeft": {
            "x": 547.1,
            "y": 319
          }
        },
        "embedding": [
          0.1754,
          -0.0246,
          0.0013,
          -0.0169
        ]
      }
    ],
    "durationMs": 255
  },
  "Verification": {
    "similarity": 0.7133,
    "match": true,
    "threshold": 0.48,
    "a": {
      "box": {
        "x": 371,
        "y": 90,
        "width": 240,
        "height": 329
      },
      "score": 0.9462,
      "landmarks": {
        "rightEye": {
          "x": 438.9,
          "y": 213.8
        },
        "leftEye": {
          "x": 554.1,
          "y": 213.7
        },
        "nose": {
          "x": 494.9,
          "y": 267.5
        },
        "mouthRight": {
          "x": 440.2,
          "y": 317.7
        },
        "mouthLeft": {
          "x": 547.1,
          "y": 319
        }
      }
    },
    "b": {
      "box": {
        "x": 202,
        "y": 229,
        "width": 275,
        "height": 405
      },
      "score": 0.9513,
      "landmarks": {
        "rightEye": {
          "x": 245,
          "y": 374.5
        },
        "leftEye": {
          "x": 369.8,
          "y": 385
        },
        "nose": {
          "x": 276.9,
          "y": 455.7
        },
        "mouthRight": {
          "x": 243.6,
          "y": 523.2
        },
        "mouthLeft": {
          "x": 350.3,
          "y": 531.2
        }
      }
    }
  },
  "Enrolment": {
    "personId": "obama",
    "photos": 1,
    "enrolledAt": "2026-12-02T02:18:47.245Z",
    "faces": [
      {
        "field": "body",
        "box": {
          "x": 371,
          "y": 90,
          "width": 240,
          "height": 329
        },
        "score": 0.9462,
        "landmarks": {
          "rightEye": {
            "x": 438.9,
            "y": 213.8
          },
          "leftEye": {
            "x": 554.1,
            "y": 213.7
          },
          "nose": {
            "x": 494.9,
            "y": 267.5
          },
          "mouthRight": {
            "x": 440.2,
            "y": 317.7
          },
          "mouthLeft": {
            "x": 547.1,
            "y": 319
          }
        }
      }
    ]
  },
  "PersonSummary": {
    "personId": "obama",
    "photos": 1,
    "enrolledAt": "2026-12-02T02:18:47.245Z"
  },
  "Identification": {
    "threshold": 0.48,
    "faces": [
      {
        "box": {
          "x": 202,
          "y": 229,
          "width": 275,
          "height": 405
        },
        "score": 0.9513,
        "landmarks": {
          "rightEye": {
            "x": 245,
            "y": 374.5
          },
          "leftEye": {
            "x": 369.8,
            "y": 385
          },
          "nose": {
            "x": 276.9,
            "y": 455.7
          },
          "mouthRight": {
            "x": 243.6,
            "y": 523.2
          },
          "mouthLeft": {
            "x": 350.3,
            "y": 531.2
          }
        },
        "match": {
          "personId": "obama",
          "similarity": 0.7133
        }
      }
    ]
  },
  "AudioAnalysis": {
    "durationSec": 12.224,
    "sampleRate": 16000,
    "channels": 1,
    "speech": [
      {
        "start": 1.09,
        "end": 2.334
      },
      {
        "start": 3.714,
        "end": 4.766
      },
      {
        "start": 6.05,
        "end": 7.038
      },
      {
        "start": 8.898,
        "end": 9.982
      }
    ],
    "speechRatio": 0.3573,
    "rmsDbfs": -31.28,
    "peakDbfs": -8.02,
    "durationMs": 345
  },
  "LoopStatus": {
    "name": "inbox",
    "state": "idle",
    "intervalMs": 5000,
    "runs": 2,
    "failures": 0,
    "consecutiveFailures": 0,
    "lastError": null,
    "lastRunAt": "2026-12-02T02:18:44.748Z",
    "lastSuccessAt": "2026-12-02T02:18:44.757Z",
    "lastDurationMs": 9
  },
  "Accepted": {
    "id": "d10cd66d-858d-4669-875d-6c1a0520fa19",
    "state": "queued",
    "location": "/v1/jobs/d10cd66d-858d-4669-875d-6c1a0520fa19"
  },
  "OcrJob": ocrJob,
  "JobList": {
    "jobs": [ocrJob],
    "next": null
  }
}
