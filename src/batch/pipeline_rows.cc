// Rows through a model's pipeline (pipeline.json): named columns, images, texts.
#include "batch/model.h"

namespace nalar::batch {

Result<std::unique_ptr<RowPreparer>> make_pipeline_preparer(const Session&,
                                                            const std::string& model_dir,
                                                            const ModelOptions&) {
  return unimplemented("'" + model_dir + "/pipeline.json': this build has no pipeline stages yet");
}

}  // namespace nalar::batch
