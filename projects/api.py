"""DRF endpoints for projects: thin over projects.selectors and projects.services."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot.api_errors import error_responses
from organise import services as organise_services
from projects import selectors, services

PROJ_ID = "proj_5c4b3a291807f6e5d4c3b2a190f8e7d6c5b4a3928170f6e5"
PROJECT_EXAMPLE = {
    "id": PROJ_ID,
    "title": "Travel",
    "description": "Trips and plans",
    "instructions": "Answer briefly; prices in euros.",
    "created_at": "2026-11-21T18:30:00Z",
    "updated_at": "2026-11-21T18:30:00Z",
}
PROJECT_RESPONSE_EXAMPLE = OpenApiExample("Project", value=PROJECT_EXAMPLE, response_only=True)


class ProjectOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    description = serializers.CharField()
    instructions = serializers.CharField(help_text="System prompt for its conversations.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProjectListItemOut(ProjectOut):
    conversation_count = serializers.IntegerField(help_text="Not counting archived ones.")


class ProjectListOut(serializers.Serializer):
    data = ProjectListItemOut(many=True)


class ProjectIn(serializers.Serializer):
    title = serializers.CharField(max_length=services.TITLE_MAX_CHARS)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=services.DESCRIPTION_MAX_CHARS
    )
    instructions = serializers.CharField(
        required=False, allow_blank=True, max_length=services.INSTRUCTIONS_MAX_CHARS
    )


class ProjectUpdateIn(ProjectIn):
    title = serializers.CharField(required=False, max_length=services.TITLE_MAX_CHARS)


class ProjectDeleteQuery(serializers.Serializer):
    delete_conversations = serializers.BooleanField(
        required=False, default=False, help_text="Delete its conversations too."
    )


def parse(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ProjectListView(APIView):
    @extend_schema(
        operation_id="projects_list",
        summary="List your projects",
        responses={200: ProjectListOut, **error_responses()},
        examples=[
            OpenApiExample("Projects", value={"data": [PROJECT_EXAMPLE]}, response_only=True)
        ],
    )
    def get(self, request):
        projects = selectors.project_list_for_user(user=request.user)
        return Response(ProjectListOut({"data": projects}).data)

    @extend_schema(
        operation_id="projects_create",
        summary="Create a project",
        request=ProjectIn,
        responses={201: ProjectOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample(
                "New project",
                value={"title": "Travel", "instructions": "Answer briefly."},
                request_only=True,
            ),
            PROJECT_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request):
        data = parse(ProjectIn, request.data)
        project = services.project_create(owner=request.user, **data)
        return Response(ProjectOut(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(
        operation_id="projects_retrieve",
        summary="Get a project",
        responses={200: ProjectOut, **error_responses(404)},
        examples=[PROJECT_RESPONSE_EXAMPLE],
    )
    def get(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        return Response(ProjectOut(project).data)

    @extend_schema(
        operation_id="projects_update",
        summary="Change a project's title, description or instructions",
        request=ProjectUpdateIn,
        responses={200: ProjectOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample("Rename", value={"title": "Travel 2027"}, request_only=True),
            PROJECT_RESPONSE_EXAMPLE,
        ],
    )
    def patch(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        data = parse(ProjectUpdateIn, request.data)
        current = {
            "title": project.title,
            "description": project.description,
            "instructions": project.instructions,
        }
        project = services.project_update(project=project, **(current | data))
        return Response(ProjectOut(project).data)

    @extend_schema(
        operation_id="projects_destroy",
        summary="Delete a project; its conversations stay, outside any project, unless asked",
        parameters=[ProjectDeleteQuery],
        responses={204: None, **error_responses(400, 404, 429)},
    )
    def delete(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        query = parse(ProjectDeleteQuery, request.query_params.dict())
        organise_services.project_delete(
            project=project, delete_conversations=query["delete_conversations"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
